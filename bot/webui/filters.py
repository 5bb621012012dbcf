"""The incident list's filters, sort and page, read from a URL's query and written back. Pure.

A filtered view is a link: every filter is a GET parameter, and ``query`` writes the same
filters back (the raw ``since``/``until`` text kept, so "last 24h" stays relative) for the
paging and sorting links. A bad value is reported per field, in words, for the form to
show beside that field; nothing here raises on what a person typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from bot.core.durations import parse_duration
from bot.incidents.severity import SEVERITIES

STATES = ("open", "all", "triggered", "acknowledged", "contained", "resolved")
SORTS = ("severity", "id", "age", "state")
PER_PAGE = 50
MAX_PAGE = 100_000
MAX_TEXT = 200


class Query:
    """A URL's query as pairs, a key repeated for each value (``severity=P1&severity=P2``)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, key: str, default: str = "") -> str:
        """The first value of ``key``."""
        return self._values.get(key, [default])[0]

    def getall(self, key: str) -> list[str]:
        return self._values.get(key, [])


@dataclass(frozen=True)
class Filters:
    severities: tuple[str, ...] = ()
    state: str = "open"
    service: str = ""
    model: str = ""
    q: str = ""
    since: str = ""  # as typed: "24h" or "2024-05-01"
    until: str = ""
    sort: str = ""  # "" is the state's default
    page: int = 1

    @property
    def order(self) -> str:
        """The sort in force: as asked, else most severe first (open) or newest first."""
        return self.sort or ("severity" if self.state == "open" else "-id")

    def query(self, **changes: object) -> str:
        """``?…`` for these filters with ``changes`` (``page=2``, ``sort="-age"``); the
        defaults are left out, so the plain list is plain ``/incidents``."""
        f = replace(self, **changes)  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = [("severity", s) for s in f.severities]
        defaults = Filters()
        for name in ("state", "service", "model", "q", "since", "until", "sort"):
            value = getattr(f, name)
            if value != getattr(defaults, name):
                pairs.append((name, value))
        if f.page != 1:
            pairs.append(("page", str(f.page)))
        return "?" + urlencode(pairs) if pairs else ""

    def sort_link(self, column: str) -> str:
        """The link a column heading carries: this column ascending, or descending when it
        is already ascending; back to the first page."""
        return self.query(sort=f"-{column}" if self.order == column else column, page=1)


@dataclass(frozen=True)
class Window:
    """``since``/``until`` as instants (None: unbounded)."""

    since: datetime | None
    until: datetime | None


def parse(query: Query, now: datetime) -> tuple[Filters, Window, dict[str, str]]:
    """The filters of a query, their time window, and a message per field that is wrong."""
    errors: dict[str, str] = {}
    severities = tuple(query.getall("severity"))
    bad = [s for s in severities if s not in SEVERITIES]
    if bad:
        errors["severity"] = f"{bad[0][:20]!r} is not a severity; pick from P1, P2, P3, P4"
    state = query.get("state", "open") or "open"
    if state not in STATES:
        errors["state"] = f"must be one of {', '.join(STATES)}"
    texts = {}
    for name in ("service", "model", "q"):
        value = query.get(name, "").strip()
        if len(value) > MAX_TEXT or any(ord(c) < 0x20 for c in value):
            errors[name] = f"at most {MAX_TEXT} characters of plain text"
        texts[name] = value
    window: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        raw = query.get(name, "").strip()
        try:
            window[name] = instant(raw, now) if raw else None
        except ValueError:
            errors[name] = "a date (2024-05-01), a time (2024-05-01T14:00Z) or an age (24h, 7d)"
            window[name] = None
    sort = query.get("sort", "")
    if sort and sort.removeprefix("-") not in SORTS:
        errors["sort"] = f"sort by one of {', '.join(SORTS)}, with '-' for descending"
    raw_page = query.get("page", "1") or "1"
    page = int(raw_page) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) < 7 else 0
    if not 1 <= page <= MAX_PAGE:
        errors["page"] = "a page number from 1"
    filters = Filters(
        severities=tuple(s for s in SEVERITIES if s in severities),
        state=state if "state" not in errors else "open",
        since=query.get("since", "").strip()[:MAX_TEXT],
        until=query.get("until", "").strip()[:MAX_TEXT],
        sort=sort if "sort" not in errors else "",
        page=page if "page" not in errors else 1,
        **texts,
    )
    return filters, Window(window["since"], window["until"]), errors


def instant(raw: str, now: datetime) -> datetime:
    """``24h``/``7d``/``30m`` ago, or an ISO date or time (UTC unless it says otherwise);
    ValueError for anything else."""
    try:
        return now - parse_duration(raw)
    except ValueError:
        pass
    if len(raw) > 40:
        raise ValueError(raw)
    value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if value.year < 1971 or value > now + timedelta(days=366 * 50):
        raise ValueError(raw)
    return value.astimezone(UTC)
