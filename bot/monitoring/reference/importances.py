"""Feature importances for a reference: a JSON object file or inline ``NAME=WEIGHT`` pairs.

The drift score weighs each feature's drift by its importance. Only the shape is checked
here; the names are checked against the reference's features when it is loaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bot.core.errors import ValidationError
from bot.monitoring.reference.problems import short


def parse_importances(text: str) -> dict[str, float]:
    """Feature importances from a JSON object file or inline ``income=0.31,debt_ratio=0.2``.

    Text naming an existing file is read as JSON; text with ``=`` is inline pairs. Names are
    checked against the reference later (``load_reference``), here only the shape is.
    """
    path = Path(text)
    if path.is_file():
        return _importances_file(path)
    if "=" not in text:
        if text.lower().endswith(".json"):
            raise ValidationError("importances", f"{text}: no such file")
        raise ValidationError(
            "importances",
            "must be a JSON file or NAME=WEIGHT pairs separated by commas "
            f"(income=0.31,debt_ratio=0.2), not {short(text, 60)!r}",
        )
    out: dict[str, float] = {}
    for pair in text.split(","):
        name, sep, raw = (part.strip() for part in pair.partition("="))
        if not pair.strip():
            continue
        if not sep or not name:
            raise ValidationError("importances", f"{pair.strip()!r} is not NAME=WEIGHT")
        if name in out:
            raise ValidationError(f"importances.{name}", "is given twice")
        try:
            weight = float(raw)
        except ValueError:
            raise ValidationError(f"importances.{name}", f"{raw!r} is not a number") from None
        out[name] = _weight(name, weight)
    return out  # not empty: the text holds "=", so some pair was kept or refused


def _weight(name: str, weight: float) -> float:
    if not math.isfinite(weight):
        raise ValidationError(f"importances.{name}", "must be a finite number")
    return weight


def _importances_file(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationError("importances", f"{path}: cannot be read: {reason}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            "importances", f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(
            "importances", f'{path}: must hold a JSON object {{"feature": weight, ...}}'
        )
    out: dict[str, float] = {}
    for name, weight in data.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise ValidationError(f"importances.{name}", "must be a number")
        out[name] = _weight(name, float(weight))
    if not out:
        raise ValidationError("importances", f"{path}: names no feature")
    return out
