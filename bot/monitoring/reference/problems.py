"""How a reference file's problems are worded, shared by the CSV and Parquet readers.

Every problem with the file is a ``ValidationError`` naming what to fix (``file``, or the
option such as ``--prediction``); no reader exception escapes as a traceback. The readers
catch ``ARROW_ERRORS`` and turn them into one short line here.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]

from bot.core.errors import ValidationError

ARROW_ERRORS = (pa.ArrowException, OSError, ValueError)
"""What Arrow raises for a file it cannot read."""


def short(text: str, most: int = 200) -> str:
    """``text`` on one line, cut to ``most`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def unreadable(path: Path, exc: BaseException) -> ValidationError:
    """The file cannot be read (permissions, a broken gzip…): the OS's reason, short."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return ValidationError("file", f"{path}: cannot be read: {short(reason)}")
