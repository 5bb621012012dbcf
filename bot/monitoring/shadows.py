"""Shadow mode beside the monitor: each watched model's live/shadow pairing, in memory.

A shadow post (``"shadow": true``, see ``shadow_rows.py``) goes here and only here: it
never touches the model's window, label join, versions or ledgers, so drift, the estimate
and accuracy of what serves read the same whether a shadow posted or not. Live posts are
handed over after the monitor counted them; the book remembers them only while a shadow is
active (``bot.quality.compare.shadow``), so a model without one pays one dictionary look-up a post.
Labels are handed over too, and count for the pairs of their id. A new reference starts the
model's book empty (the bins changed), as it starts the window empty; a restart forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.ingest.validate import bounded_list, fail, require_object
from bot.monitoring.posts import MAX_ROWS
from bot.monitoring.shadow_rows import ShadowRows, live_rows, shadow_rows
from bot.monitoring.versions import UnknownVersion, row_tags
from bot.quality.compare.shadow import ShadowBook, ShadowPost
from bot.quality.data import RowCheck
from bot.quality.profile import ReferenceProfile, category_key
from bot.rollout.shadow import ShadowComparison, ShadowSettings, compare

FIELDS = ("rows", "version", "shadow")


class ShadowMonitor:
    """Every watched model's :class:`ShadowBook`; used from the event loop only."""

    def __init__(self, settings: ShadowSettings | None = None) -> None:
        self.settings = settings or ShadowSettings()
        self._books: dict[str, ShadowBook] = {}

    def post(
        self, model: str, body: Mapping[str, object], profile: ReferenceProfile, now: datetime
    ) -> tuple[ShadowRows, ShadowPost]:
        """Pair a shadow post's rows with the live rows of their ids (the rest wait)."""
        rows = bounded_list(body.get("rows"), "rows", most=MAX_ROWS, noun="row")
        extra = sorted(set(body) - set(FIELDS))
        if extra:
            raise fail(extra[0], f"is not a field of a shadow post ({', '.join(FIELDS)})")
        parsed = shadow_rows(body, rows, profile)
        return parsed, self._book(model, profile).add_shadow(parsed.version, parsed.rows, now)

    def live(
        self,
        model: str,
        body: Mapping[str, object],
        check: RowCheck,
        profile: ReferenceProfile,
        now: datetime,
    ) -> None:
        """A live post the monitor counted: its rows meet the shadow rows of their ids."""
        book = self._books.get(model)
        if book is None or book.profile is not profile:
            return
        book.expire(now)
        if not book.active:
            return
        rows: Sequence[object] = body["rows"]  # type: ignore[assignment]  # checked already
        tags = row_tags(rows, body.get("version"), "")
        book.add_live(live_rows(rows, check.positions, tags, profile), now)

    def labels(self, model: str, payload: object) -> None:
        """Labels the monitor accepted: each counts for the pairs of its id."""
        book = self._books.get(model)
        if book is None or not book.tallies:
            return
        pairs: list[tuple[str, str]] = []
        for row in require_object(payload, "").get("rows") or []:  # type: ignore[attr-defined]
            obj: dict[str, Any] = row
            pairs.append((str(obj["id"]), category_key(obj["label"]) or ""))
        book.label(pairs)

    def versions(self, model: str) -> list[str]:
        book = self._books.get(model)
        return [] if book is None else sorted(book.tallies)

    def comparison(
        self, model: str, version: str, profile: ReferenceProfile, now: datetime
    ) -> ShadowComparison:
        """The comparison of shadow ``version`` with what served, as of ``now``."""
        book = self._books.get(model)
        tally = None
        if book is not None and book.profile is profile:
            book.expire(now)
            tally = book.tallies.get(version)
        if tally is None:
            seen = ", ".join(self.versions(model)) or "none"
            raise UnknownVersion(
                f"model {model!r} has no shadow rows of version {version!r} "
                f"(shadow versions: {seen})"
            )
        assert book is not None
        tolerance = book.tolerance if book.numeric else None
        return compare(tally, profile, tolerance=tolerance, settings=self.settings)

    def _book(self, model: str, profile: ReferenceProfile) -> ShadowBook:
        book = self._books.get(model)
        if book is None or book.profile is not profile:
            book = self._books[model] = ShadowBook(profile)
        return book
