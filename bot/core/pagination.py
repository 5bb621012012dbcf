"""Cursor pagination, shared by every list of the HTTP API, the CLI and ``/incident list``.

Keyset, never offset: a cursor holds the sort key of the last item shown, so the next page
starts right after it whatever was inserted meanwhile (an offset would show an item twice
or skip one when a new incident lands between two requests). A cursor is opaque to callers
(URL-safe base64 of a small JSON array) and names the list it belongs to, so one taken from
another list (open vs all, another schedule) is refused instead of silently misread.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.core.errors import ValidationError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 1000  # characters; ours are far shorter
Scalar = str | int


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items, where the next page starts (None: this is the last
    one), and how many items the whole list has, so a reader can say "showing 50 of 312"."""

    items: tuple[T, ...]
    next_cursor: str | None
    total: int

    @property
    def cut(self) -> bool:
        """True when this page is not the whole list."""
        return len(self.items) < self.total


def parse_limit(raw: str | None) -> int:
    """``?limit=`` as a page size: absent is the default, anything but 1..MAX_LIMIT refused."""
    if raw is None:
        return DEFAULT_LIMIT
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def encode_cursor(list_name: str, key: Sequence[Scalar]) -> str:
    """The opaque cursor that resumes ``list_name`` right after the item with sort ``key``."""
    raw = json.dumps([list_name, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(list_name: str, raw: str, kinds: Sequence[type]) -> tuple[Scalar, ...]:
    """The sort key a cursor of ``list_name`` holds, each part of the type ``kinds`` says;
    ``ValidationError("cursor")`` for anything this list did not hand out."""
    text = raw.strip()
    if not text or len(text) > MAX_CURSOR:
        raise _bad_cursor()
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise _bad_cursor() from None
    if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], str):
        raise _bad_cursor()
    if decoded[0] != list_name:
        raise ValidationError(
            "cursor",
            "belongs to another list (open or all, another schedule); use one this same "
            "list gave, or leave it out to start from the first page",
        )
    key = decoded[1:]
    if len(key) != len(kinds) or not all(_is(v, k) for v, k in zip(key, kinds, strict=True)):
        raise _bad_cursor()
    return tuple(key)


def _is(value: Any, kind: type) -> bool:
    return isinstance(value, kind) and not isinstance(value, bool)


def _bad_cursor() -> ValidationError:
    return ValidationError(
        "cursor", "is not a cursor Vigil handed out; use the one the previous page ended with"
    )


def page_of(
    rows: Iterable[T],
    *,
    key: Callable[[T], tuple[Any, ...]],
    after: tuple[Any, ...] | None,
    limit: int,
    cursor: Callable[[T], str],
) -> Page[T]:
    """A page of a list already in memory and sorted ascending by ``key``: the items after
    ``after`` (a decoded cursor), at most ``limit``. For lists too short to need a query."""
    every = list(rows)
    rest = every if after is None else [r for r in every if key(r) > after]
    shown = tuple(rest[:limit])
    more = len(rest) > limit
    return Page(shown, cursor(shown[-1]) if more else None, len(every))


def page_json(page: Page[Any]) -> dict[str, Any]:
    """The fields every list answer adds next to its items."""
    return {"next_cursor": page.next_cursor, "total": page.total}
