"""Shadow mode beside the monitor: each watched model's live/shadow pairing, in the database.

A shadow post (``"shadow": true``, see ``shadow_rows.py``) goes here and only here: it
never touches the model's window, label join, versions or ledgers, so drift, the estimate
and accuracy of what serves read the same whether a shadow posted or not. Live posts and
labels are handed over after the monitor counted them. Each of the three becomes a
``Work`` (``shadow_pairing``) that the service runs in the write storing the post, so the
pairs are shared by every replica and a restart keeps them (``shadow_store``); the
comparison is read from the database by whichever replica is asked.

A live post of a model without an active shadow costs one indexed read in that write; its
rows are read as pairing needs them only when a shadow is active (before the write, when
this process saw one active within the window; else inside it, the first time). Each
reference has its own shadow counts (the bins changed), as it has its own window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.core.errors import ValidationError
from bot.ingest.validate import bounded_list, fail
from bot.monitoring.panes.parts import PostedLabel, Work
from bot.monitoring.posts import MAX_ROWS
from bot.monitoring.shadow_pairing import Refused, ShadowPairing
from bot.monitoring.shadow_rows import ShadowRows, live_rows, shadow_rows
from bot.monitoring.shadow_store import Shadowed, ShadowStore
from bot.monitoring.versions import UnknownVersion, row_tags
from bot.quality.compare.shadow import WINDOW, PairRow, ShadowPost, ShadowScorer
from bot.quality.data import RowCheck
from bot.quality.profile import ReferenceProfile
from bot.rollout.shadow import ShadowComparison, ShadowSettings, compare

FIELDS = ("rows", "version", "shadow")


class ShadowMonitor:
    """Every watched model's shadow mode; used from the event loop only."""

    def __init__(self, store: ShadowStore, settings: ShadowSettings | None = None) -> None:
        self.settings = settings or ShadowSettings()
        self.store = store
        self._pairing = ShadowPairing(store)
        self._scorers: dict[str, tuple[int, ShadowScorer]] = {}
        self._seen: dict[str, datetime] = {}
        """When this process last saw each model's shadow active."""

    def shadowed(self, model: str, reference_id: int, profile: ReferenceProfile) -> Shadowed:
        """``model`` under its reference, with that reference's scorer (built once)."""
        held = self._scorers.get(model)
        if held is None or held[0] != reference_id:
            held = self._scorers[model] = (reference_id, ShadowScorer(profile))
        return Shadowed(model, reference_id, held[1])

    @staticmethod
    def parse(body: Mapping[str, object], profile: ReferenceProfile) -> ShadowRows:
        """A shadow post's rows, each as pairing needs it (400 naming a bad field)."""
        rows = bounded_list(body.get("rows"), "rows", most=MAX_ROWS, noun="row")
        extra = sorted(set(body) - set(FIELDS))
        if extra:
            raise fail(extra[0], f"is not a field of a shadow post ({', '.join(FIELDS)})")
        return shadow_rows(body, rows, profile)

    def post(self, who: Shadowed, parsed: ShadowRows, now: datetime) -> Work:
        """Pair a shadow post's rows with the live rows of their ids (the rest wait)."""
        self._seen[who.model] = now
        return self._pairing.post(who, parsed.version, parsed.rows, now)

    @staticmethod
    def answered(result: object) -> ShadowPost:
        """What a shadow post's work answered, or the 400 it was refused with."""
        if isinstance(result, Refused):
            raise ValidationError(result.field, result.reason)
        assert isinstance(result, ShadowPost)
        return result

    def live(
        self,
        who: Shadowed,
        body: Mapping[str, object],
        check: RowCheck,
        profile: ReferenceProfile,
        now: datetime,
    ) -> Work:
        """A live post the monitor counted: its rows meet the shadow rows of their ids."""

        def rows() -> list[PairRow]:
            raw: Sequence[object] = body["rows"]  # type: ignore[assignment]  # checked already
            tags = row_tags(raw, body.get("version"), "")
            return live_rows(raw, check.positions, tags, profile)

        def seen(active: bool) -> None:
            if active:
                self._seen[who.model] = now

        last = self._seen.get(who.model)
        if last is not None and now - last < WINDOW:  # likely active: read them out of the write
            parsed = rows()
            return self._pairing.live(who, lambda: parsed, now, seen)
        return self._pairing.live(who, rows, now, seen)

    def labels(self, who: Shadowed, pairs: Sequence[PostedLabel]) -> Work:
        """Labels the monitor accepted: each counts for the pairs of its id."""
        return self._pairing.labels(who, [(p.row_id, p.label) for p in pairs])

    async def versions(self, model: str, reference_id: int) -> list[str]:
        return await self.store.versions(model, reference_id)

    async def comparison(self, who: Shadowed, version: str, now: datetime) -> ShadowComparison:
        """The comparison of shadow ``version`` with what served, as of ``now``."""
        found = await self.store.read(who, version, now)
        if found is None:
            seen = ", ".join(await self.versions(who.model, who.reference_id)) or "none"
            raise UnknownVersion(
                f"model {who.model!r} has no shadow rows of version {version!r} "
                f"(shadow versions: {seen})"
            )
        tally, waiting = found
        tolerance = who.scorer.tolerance if who.scorer.numeric else None
        return compare(
            tally, who.scorer.profile, waiting=waiting, tolerance=tolerance, settings=self.settings
        )

    async def upkeep(self, watched: Sequence[Shadowed], now: datetime) -> None:
        """Expire, trim and fold every watched model's shadow rows (``shadow_store``)."""
        await self.store.upkeep(watched, now)
