"""Starting, stopping and reading rollouts: what ``vigil model canary``/``ab``, ``/rollout``
and the look timers share.

``start`` claims the model (the row's unique ``active_model``: at most one rollout per
model, even when two people start one at once), moves the canary to its first share, and
sets the first look one interval later. ``abort`` puts the canary back to 0 % and ends the
rollout. Both work from a short-lived process (the CLI): their chat line is a :data:`SAY`
timer that the running bot posts, and the look timer is read by the bot's timer loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.core.clock import Clock
from bot.core.errors import NotFoundError
from bot.registry.base import ModelRegistry, RegistryError
from bot.rollout.steps import Mode, canary_shares, parse_steps
from bot.rollout.story import ABORTED, RUNNING, RolloutState, aborted_line, started_line
from bot.rollouts.driver import LOOK, SAY, RolloutDriver, look_key, say_key
from bot.rollouts.store import RolloutStore, state_of
from bot.rollouts.tables import Rollout, RolloutLook
from bot.store.db import Database
from bot.store.timers import Timers


@dataclass(frozen=True)
class RolloutReport:
    """A rollout and its looks, oldest first: what ``status`` shows."""

    rollout: RolloutState
    looks: tuple[RolloutLook, ...]


class RolloutService:
    def __init__(
        self,
        db: Database,
        store: RolloutStore,
        registry: ModelRegistry,
        timers: Timers,
        driver: RolloutDriver,
        *,
        clock: Clock,
    ) -> None:
        self._db = db
        self.store = store
        self._registry = registry
        self._timers = timers
        self.driver = driver
        self._clock = clock

    async def start(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        steps: tuple[int, ...] | None = None,
        every: timedelta | None = None,
        mode: Mode = "canary",
        baseline: str | None = None,
    ) -> RolloutState:
        """Start ``version`` at the first share against the stable version (an A/B test:
        ``steps`` is the one share, ``baseline`` must be the stable version)."""
        settings = self.driver.settings
        plan = parse_steps(steps) if steps is not None else settings.steps
        interval = every or settings.every
        stable = await self._registry.stable(model)  # NotFoundError names the known models
        if stable is None:
            raise RegistryError(
                f"{model} has no stable version to compare {version} with; promote one first: "
                f"vigil model promote {model} VERSION"
            )
        if baseline is not None and baseline != stable.version:
            raise RegistryError(
                f"A/B compares against the version serving now: {stable.version}, not {baseline}"
            )
        if stable.version == version:
            raise RegistryError(f"{model} {version} is already the stable version")
        known = [v.version for v in await self._registry.versions(model)]
        if version not in known:
            raise NotFoundError(f"{model} has no version {version!r}; it has {', '.join(known)}")
        await self._refuse_if_running(model)
        now = self._clock()
        first = canary_shares(plan)[0]
        row = Rollout(
            model=model,
            version=version,
            baseline=stable.version,
            mode=mode,
            steps=list(plan),
            every_s=max(1, int(interval.total_seconds())),
            step=0,
            percent=first,
            state=RUNNING,
            active_model=model,
            actor=actor,
            looks=0,
            started_at=now,
            next_look_at=now + interval,
        )
        try:
            async with self._db.session() as s, s.begin():
                s.add(row)
                await s.flush()
                assert row.id is not None
                assert row.next_look_at is not None
                await self._timers.schedule_in(
                    s, LOOK, look_key(row.id), row.next_look_at, {"rollout": row.id}
                )
        except IntegrityError:  # another start of this model won the race
            await self._refuse_if_running(model)
            raise
        assert row.id is not None
        try:
            await self._registry.set_canary(model, version, first, actor=actor)
        except Exception:
            await self._end(row.id, ABORTED)
            raise
        state = state_of(row)
        await self._say(state, "start", started_line(state))
        return state

    async def abort(self, model: str, *, actor: str) -> RolloutState:
        """Stop the model's running rollout: the canary back to 0 %, no more looks."""
        row = await self.store.active(model)
        if row is None or row.id is None:
            raise NotFoundError(f"no rollout of {model} is running")
        await self._registry.set_canary(model, row.version, 0, actor=actor)
        state = await self._end(row.id, ABORTED)
        if state is None:  # it ended (failed or promoted) while we moved it
            raise NotFoundError(f"no rollout of {model} is running")
        await self._say(state, "abort", aborted_line(state, actor))
        return state

    async def status(self, model: str) -> RolloutReport | None:
        """The model's running rollout, else its last one; None if it never had one."""
        row = await self.store.active(model) or await self.store.latest(model)
        if row is None or row.id is None:
            return None
        return RolloutReport(state_of(row), tuple(await self.store.looks(row.id)))

    async def resume(self) -> int:
        """At start: a look timer for every running rollout that has none (lost by hand)."""
        pending = {p.key for p in await self._timers.pending() if p.kind == LOOK}
        planted = 0
        for row in await self.store.running():
            if row.id is not None and look_key(row.id) not in pending:
                await self._timers.schedule(
                    LOOK, look_key(row.id), self._clock(), {"rollout": row.id}
                )
                planted += 1
        return planted

    async def _refuse_if_running(self, model: str) -> None:
        running = await self.store.active(model)
        if running is not None:
            raise RegistryError(
                f"a rollout of {model} is already running: {running.version} at "
                f"{running.percent} %, started by {running.actor}; one at a time per model "
                f"(stop it: /rollout abort {model})"
            )

    async def _end(self, rollout_id: int, state: str) -> RolloutState | None:
        async with self._db.session() as s, s.begin():
            row = await self.store.locked(s, rollout_id)
            if row is None or row.state != RUNNING:
                return None
            row.state, row.active_model = state, None
            row.ended_at, row.next_look_at = self._clock(), None
            s.add(row)
            ended = state_of(row)
        await self._timers.cancel(look_key(rollout_id))
        return ended

    async def _say(self, state: RolloutState, what: str, line: str) -> None:
        """The line, posted by whichever process runs the timers (the bot, not the CLI)."""
        await self._timers.schedule(
            SAY, say_key(state.id, what), self._clock(), {"rollout": state.id, "line": line}
        )
