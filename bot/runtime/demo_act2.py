"""The second act of ``vigil demo``: a retrained version is judged before it serves.

The morning after the incident, @sam asks for the retraining on the incident. The real
retraining path runs (``/incident retrain N``, the run's row, the submit and poll timers of
the follower) against an orchestrator that stands in for Airflow in this process, and the
finished run's version is registered as a shadow. It scores the same requests as the stable
version without serving them; shadow mode compares the pairs and says READY. @sam starts a
canary through the real ``RolloutService``: traffic is split by the registry's shares, the
look timers judge it every ten minutes, and it steps up from 5 % to 10 % on a PASS. Then
shops open, card-present payments (``channel=pos``, a segment the fresh data barely held)
reach the canary, its labels come back worse, the judge FAILs it at 10 %, and Vigil sets it
back to 0 % and opens an incident with the judge's reasons. Only the clock and the traffic
are scripted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.monitoring.shadow_views import shadow_text
from bot.rollout.story import RolloutState
from bot.runtime.app import Vigil
from bot.runtime.demo_stage import MODEL, DemoClock, Transcript, advance, say
from bot.runtime.demo_traffic import Json, Traffic, reference_profile

STABLE_ACCURACY = {"web": 0.93, "app": 0.93, "pos": 0.93}
RETRAINED_ACCURACY = {"web": 0.96, "app": 0.96, "pos": 0.72}
"""The retrained model is better on what the fresh data held, and poor on shops' payments."""
BEFORE_SHOPS = {"web": 0.6, "app": 0.4}
SHOPS_OPEN = {"web": 0.3, "app": 0.2, "pos": 0.5}
PER_MINUTE = 1_000
"""Requests a minute: the canary's share of them is what the judge gets to see."""
MOST_MINUTES = 60


async def act_two(vigil: Vigil, chat: Transcript, clock: DemoClock, incident: int) -> bool:
    """Play the act; False (and a line saying so) when a beat did not happen."""
    traffic = Traffic()
    morning = clock.now.replace(hour=9, minute=0)
    chat.story("Act two, the next morning: @sam asks for the retraining on fresh data.")
    await advance(vigil, clock, morning)
    await say(vigil, chat, "@sam", f"/incident retrain {incident}")
    await advance(vigil, clock, clock.now + timedelta(minutes=35))
    runs = await vigil.retrain.store.runs(MODEL, limit=1)
    if not runs or runs[0].phase != "succeeded" or not runs[0].version:
        chat.line("demo", "the retraining did not finish; something is wrong")
        return False
    new = runs[0].version
    stable = await vigil.registry.stable(MODEL)
    live = stable.version if stable is not None else "v2"

    chat.story(f"{new} runs in shadow: it scores the requests {live} serves; nobody sees it.")
    await vigil.models.store.save(
        MODEL,
        live,
        reference_profile(),
        source="the demo's fresh traffic",
        actor="@sam",
        now=clock(),
    )
    for minute in range(1, 6):
        await advance(vigil, clock, clock.now + timedelta(minutes=1))
        ids, facts = traffic.requests(400, BEFORE_SHOPS)
        served = traffic.scored(ids, facts, live, STABLE_ACCURACY)
        shadow = traffic.scored(ids, facts, new, RETRAINED_ACCURACY)
        await vigil.models.predictions(MODEL, {"shadow": True, "version": new, "rows": shadow.rows})
        await vigil.models.predictions(MODEL, {"rows": served.rows})
        await vigil.models.labels(MODEL, {"rows": served.labels})
        if minute in (1, 5):
            answer = await vigil.models.shadow(MODEL, new)
            chat.line("shadow", _shadow_lines(answer, full=minute == 5))
    if answer["verdict"] != "ready":
        chat.line("demo", "the shadow is not ready; something is wrong")
        return False

    chat.story(f"@sam starts the canary: {new} takes 5 %, more only while the judge passes.")
    await advance(vigil, clock, clock.now.replace(minute=0) + timedelta(hours=1))
    chat.line("@sam", f"$ vigil model canary {MODEL} {new}")
    rollout = await vigil.rollouts.start(MODEL, new, actor="@sam")
    first = await _serve(vigil, clock, traffic, BEFORE_SHOPS, new=new, until=_left(5))
    if first.state != "running":
        chat.line("demo", "the judge did not pass the canary at 5 %; something is wrong")
        return False

    chat.story("Shops open: card-present payments (channel=pos) arrive, new to the fresh data.")
    ended = await _serve(vigil, clock, traffic, SHOPS_OPEN, new=new, until=_ended)
    if ended.id != rollout.id or ended.state != "failed":
        chat.line("demo", "the judge did not fail the canary; something is wrong")
        return False
    after = await vigil.registry.stable(MODEL)
    chat.story(
        f"Caught at {ended.percent} %: {after.version if after else live} serves everything "
        f"again; incident #{ended.incident_id} (P4: posted, nobody woken) holds the judge's "
        "reasons."
    )
    return True


def _left(percent: int) -> Callable[[RolloutState], bool]:
    """Done once the rollout is no longer running at ``percent`` (stepped up, or ended)."""
    return lambda r: r.state != "running" or r.percent != percent


def _ended(r: RolloutState) -> bool:
    return r.state != "running"


async def _serve(
    vigil: Vigil,
    clock: DemoClock,
    traffic: Traffic,
    channels: Mapping[str, float],
    *,
    new: str,
    until: Callable[[RolloutState], bool],
) -> RolloutState:
    """Live traffic, a minute at a time, split as the registry says at each minute (a
    request goes to one version), each minute's labels back from review with it, until the
    judge's looks move the rollout (``until``; at most an hour: the judge decides when)."""
    report = None
    for _ in range(MOST_MINUTES):
        shares = sorted(
            (v.traffic_percent, v.version)
            for v in await vigil.registry.versions(MODEL)
            if v.traffic_percent > 0
        )
        ids, facts = traffic.requests(PER_MINUTE, channels)
        cut = 0
        for i, (percent, version) in enumerate(shares):
            end = len(ids) if i == len(shares) - 1 else cut + round(len(ids) * percent / 100)
            part = slice(cut, end)
            accuracy = RETRAINED_ACCURACY if version == new else STABLE_ACCURACY
            batch = traffic.scored(ids[part], _part(facts, part), version, accuracy)
            await vigil.models.predictions(MODEL, {"rows": batch.rows})
            await vigil.models.labels(MODEL, {"rows": batch.labels})
            cut = end
        await advance(vigil, clock, _next_minute(clock.now))
        report = await vigil.rollouts.status(MODEL)
        if report is None or until(report.rollout):
            break
    assert report is not None  # started before the traffic
    return report.rollout


def _shadow_lines(answer: Json, *, full: bool) -> str:
    """The verdict and why; then, once it is worth it, the distance and accuracy."""
    words = shadow_text(answer).splitlines()
    reasons = [w.removeprefix("  - ") for w in words if w.startswith("  - ")]
    verdict = str(answer["verdict"]).replace("_", " ").upper()
    lines = [f"{answer['version']} {verdict}: {'; '.join(reasons)}"]
    if full:
        lines += [w for w in words if w.startswith(("Distance", "Accuracy"))]
    return "\n".join(lines)


def _part(facts: Json, part: slice) -> Json:
    return {k: v[part] for k, v in facts.items()}


def _next_minute(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
