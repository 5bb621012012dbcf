"""The door to Arrow bodies that does not open pyarrow until one arrives.

pyarrow costs a few tenths of a second to import, and most Vigils never receive an Arrow
body (a JSON post, an alert, a Slack command, the demo): so the web layer knows the content
type and the error from here, and ``parse`` loads ``bot.quality.arrow_rows`` (which imports
pyarrow) at the first Arrow post, as the CLI loads a verb's module when it is run.
"""

from __future__ import annotations

import importlib

from bot.quality.row_fields import ColumnarRows

ARROW_STREAM = "application/vnd.apache.arrow.stream"


class ArrowBodyError(ValueError):
    """The body is no Arrow stream, or a column has a type no row could hold."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def parse(raw: bytes) -> ColumnarRows:
    """The rows of the Arrow IPC stream ``raw`` (``bot.quality.arrow_rows.arrow_rows``);
    ``ArrowBodyError`` naming the column (or ``body``) when it cannot be read."""
    rows: ColumnarRows = importlib.import_module("bot.quality.arrow_rows").arrow_rows(raw)
    return rows
