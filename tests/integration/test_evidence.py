"""Evidence end to end: a drift alert on a watched model gets its charts, once, on every surface.

The real pieces throughout: a ``ModelMonitor`` fed a reference profile and a shifted batch,
the alert ingested through ``AlertIngestor``, ``EvidenceService`` subscribed to the app's
notifier, files written to a temp directory, the console wording from ``RecordingBackend``,
the post-mortem from the real renderer, and Slack through the real slack_sdk client to the
local stand-in, the outbox driven with ``run_once`` on the FakeClock. No sleeps.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.backend import RecordingBackend
from bot.chat.slack.outbound.thread import UPLOAD_TRIES
from bot.evidence.service import EvidenceService
from bot.incidents.views import IncidentView
from bot.ingest.generic import parse_generic
from bot.monitoring.monitor import ModelMonitor
from bot.outbox.worker import OutboxWorker
from bot.quality.profile import ReferenceProfile, build_profile
from bot.quality.windows import WindowSpec
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.test_slack import _settings
from tests.slack_standin import SlackStandin
from tests.support import FakeClock

MODEL = "credit"


def reference(n: int = 4000) -> ReferenceProfile:
    rng = np.random.default_rng(0)
    income = rng.normal(55, 18, n)
    score = 1 / (1 + np.exp(-(income - 55) / 8))
    return build_profile(
        {"income": income, "region": rng.choice(["north", "south", "east"], n)},
        prediction=list(np.where(score >= 0.5, "approve", "decline")),
        confidence=np.maximum(score, 1 - score),
    )


def shifted_rows(n: int, shift: float) -> list[dict[str, Any]]:
    rng = np.random.default_rng(1)
    income = rng.normal(55 + shift, 18, n)
    score = 1 / (1 + np.exp(-(income - 55) / 8))
    return [
        {
            "id": f"r{i}",
            "features": {"income": float(income[i]), "region": ["north", "south", "east"][i % 3]},
            "prediction": "approve" if score[i] >= 0.5 else "decline",
            "confidence": float(max(score[i], 1 - score[i])),
        }
        for i in range(n)
    ]


def drifting_monitor(clock: FakeClock) -> ModelMonitor:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch(MODEL, "v7", reference())
    monitor.predictions(MODEL, {"rows": shifted_rows(1000, shift=25)}, clock())
    return monitor


def evidence_for(vigil: Vigil, monitor: ModelMonitor, out: Path, clock: FakeClock) -> None:
    service = EvidenceService(monitor, vigil.incidents, out_dir=out, clock=clock)
    vigil.notifier.subscribe(service.on_change)


async def slack_vigil(
    make_vigil: MakeVigil,
    slack: SlackStandin,
    clock: FakeClock,
    out: Path,
    *,
    incident_channels: bool = False,
) -> tuple[str, Vigil, OutboxWorker]:
    """The alerts channel, a Vigil on ``slack`` whose drift incidents get charts in ``out``,
    and its outbox."""
    channel = slack.add_channel("incidents")
    settings = _settings(slack.url)
    if incident_channels:
        settings = dataclasses.replace(settings, incident_channels=True)
    vigil = await make_vigil(slack=settings)
    evidence_for(vigil, drifting_monitor(clock), out, clock)
    assert vigil.slack is not None
    return channel, vigil, vigil.slack.outbox


async def drift_alert(vigil: Vigil, clock: FakeClock, *, model: str = MODEL) -> None:
    alert = {
        "title": f"input drift PSI 0.61 > 0.2 on model {model}",
        "value": 0.61,
        "labels": {"alertname": "InputDrift", "signal": "psi", "model": model},
    }
    await vigil.ingestor.ingest(parse_generic(alert, now=clock()))


def png_at(path: str) -> bytes:
    data = Path(path).read_bytes()
    assert data.startswith(b"\x89PNG")
    return data


def charts_of(view: IncidentView) -> list[dict[str, Any]]:
    return [e.data for e in view.timeline if e.kind == "evidence"]


async def test_a_drift_incident_gets_both_charts_once_on_disk_console_and_postmortem(
    vigil: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    console = RecordingBackend()
    vigil.attach(console)
    out = tmp_path / "evidence"
    evidence_for(vigil, drifting_monitor(clock), out, clock)

    await drift_alert(vigil, clock)

    view = await vigil.incidents.get(1)
    drift, accuracy = charts_of(view)
    assert (drift["chart"], drift["feature"]) == ("drift", "income")
    assert drift["path"] == str(out.absolute() / "incident-1-drift-income.png")
    assert accuracy["chart"] == "accuracy"
    assert accuracy["path"] == str(out.absolute() / "incident-1-accuracy.png")
    for chart in (drift, accuracy):
        assert png_at(chart["path"]).startswith(b"\x89PNG")
    assert sorted(p.name for p in out.iterdir()) == [  # no temp file left behind
        "incident-1-accuracy.png",
        "incident-1-drift-income.png",
    ]
    [line] = [e.text for e in view.timeline if e.data.get("chart") == "drift"]
    assert line.startswith("Chart attached: income, reference vs last 1,000 rows (PSI ")
    assert line.endswith(f" — {drift['path']}")

    said = [a for a in console.announced if "chart attached" in a]
    assert len(said) == 2
    assert any(drift["path"] in a for a in said)
    assert said[0].splitlines()[0].startswith("🟡 P3 #1 ")  # the usual first line: which one

    await vigil.incidents.set_severity(1, "P2", actor="@sam")  # a second change: no new chart
    await drift_alert(vigil, clock)  # a repeat of the alert
    assert len(charts_of(await vigil.incidents.get(1))) == 2

    draft = await vigil.postmortems.render(1)
    assert "## Evidence" in draft
    assert "![income: reference vs last 1,000 rows (PSI " in draft
    assert f"]({drift['path']})" in draft
    assert f"![credit: accuracy over time]({accuracy['path']})" in draft


async def test_an_unwatched_model_or_a_non_quality_incident_gets_nothing(
    vigil: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    out = tmp_path / "evidence"
    evidence_for(vigil, drifting_monitor(clock), out, clock)

    await drift_alert(vigil, clock, model="ranker")  # drift, but nobody watches ranker
    latency = {
        "title": "p95 latency 900 ms",
        "value": 900,
        "labels": {"alertname": "HighLatencyP95", "service": "api", "model": MODEL},
    }
    await vigil.ingestor.ingest(parse_generic(latency, now=clock()))  # watched, not quality
    await vigil.incidents.open(title="credit looks odd", actor="@sam", model=MODEL)  # no alert

    for view in await vigil.incidents.list():
        assert charts_of(view) == []
    assert not out.exists()
    assert "## Evidence" not in await vigil.postmortems.render(1)


async def test_an_importance_shift_gets_the_importance_chart_not_an_unrelated_drift_one(
    vigil: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    # A second model whose inputs are as they were, but which leans on other features now:
    # its incident once got the histogram of whichever feature drifted most (PSI 0.01).
    monitor = drifting_monitor(clock)
    steady = dataclasses.replace(reference(), importances={"income": 0.7, "region": 0.3})
    monitor.watch("ranker", "v2", steady)
    unshifted = {"rows": shifted_rows(1000, shift=0), "importances": {"income": 0.1, "region": 0.9}}
    monitor.predictions("ranker", unshifted, clock())
    out = tmp_path / "evidence"
    evidence_for(vigil, monitor, out, clock)

    shift = {
        "title": "feature-importance rank correlation -1 < 0.8 on model ranker",
        "value": -1.0,
        "labels": {
            "alertname": "FeatureImportanceShift",
            "signal": "feature_importance",
            "model": "ranker",
        },
    }
    await vigil.ingestor.ingest(parse_generic(shift, now=clock()))

    charts = {c["chart"]: c for c in charts_of(await vigil.incidents.get(1))}
    assert set(charts) == {"importance", "accuracy"}, charts
    assert charts["importance"]["path"] == str(out.absolute() / "incident-1-importance.png")
    assert png_at(charts["importance"]["path"])
    [line] = [
        e.text
        for e in (await vigil.incidents.get(1)).timeline
        if e.kind == "evidence" and e.data["chart"] == "importance"
    ]
    assert line.startswith("Chart attached: ranker feature importance, training vs now (rank tau ")

    await drift_alert(vigil, clock)  # the first model drifts: its incident gets the histogram
    assert [c["chart"] for c in charts_of(await vigil.incidents.get(2))] == ["drift", "accuracy"]


async def test_a_window_too_small_to_judge_drift_still_gets_the_accuracy_chart(
    vigil: Vigil, clock: FakeClock, tmp_path: Path
) -> None:
    monitor = ModelMonitor(WindowSpec(rows=1000))
    monitor.watch(MODEL, "v7", reference())
    monitor.predictions(MODEL, {"rows": shifted_rows(50, shift=25)}, clock())  # < 200 rows
    monitor.assessment(MODEL, clock())  # no figure yet: history stays empty
    assert monitor.history(MODEL) == []
    evidence_for(vigil, monitor, tmp_path / "evidence", clock)

    await drift_alert(vigil, clock)
    assert charts_of(await vigil.incidents.get(1)) == []  # nothing to draw from, nothing said

    monitor.predictions(MODEL, {"rows": shifted_rows(400, shift=25)}, clock())
    await vigil.incidents.set_severity(1, "P2", actor="@sam")  # the next change tries again
    assert [c["chart"] for c in charts_of(await vigil.incidents.get(1))] == ["drift", "accuracy"]


async def test_a_chart_that_cannot_be_written_is_logged_and_not_recorded(
    vigil: Vigil, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the evidence directory should be")
    evidence_for(vigil, drifting_monitor(clock), blocker, clock)

    await drift_alert(vigil, clock)  # the alert itself still goes through

    view = await vigil.incidents.get(1)
    assert charts_of(view) == []
    assert view.alerts
    assert "the drift chart could not be drawn" in caplog.text


# -- Slack -----------------------------------------------------------------------------------


async def test_the_charts_are_uploaded_into_the_cards_thread_once_despite_retries(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        channel, vigil, outbox = await slack_vigil(make_vigil, slack, clock, tmp_path / "evidence")
        slack.fail_next("files.completeUploadExternal", kind="ratelimited", retry_after=5)

        await drift_alert(vigil, clock)
        await outbox.run_once(clock())
        assert slack.shared_files(channel) == []  # the first completion was rate limited
        clock.advance(seconds=5)
        await outbox.run_once(clock())
        clock.advance(minutes=5)
        await outbox.run_once(clock())  # nothing left: nothing sent again

        [card] = [m for m in slack.messages(channel) if m.thread_ts is None]
        drift, accuracy = slack.shared_files(channel, card.ts)
        assert (drift.filename, accuracy.filename) == (
            "incident-1-drift-income.png",
            "incident-1-accuracy.png",
        )
        on_disk = [png_at(c["path"]) for c in charts_of(await vigil.incidents.get(1))]
        assert [drift.data, accuracy.data] == on_disk  # the very bytes, PNGs both
        assert str(drift.title).startswith("income: reference vs last 1,000 rows (PSI ")
        assert "Chart attached: income, reference vs last 1,000 rows" in str(drift.initial_comment)
        assert len(slack.calls_to("files.completeUploadExternal")) == 3  # 1 refused, 2 shared
        shares = [m for m in slack.thread(channel, card.ts) if m.files]
        assert [m.files[0]["name"] for m in shares] == [drift.filename, accuracy.filename]


async def test_a_retry_after_the_upload_went_out_does_not_upload_it_again(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        channel, vigil, outbox = await slack_vigil(
            make_vigil, slack, clock, tmp_path / "evidence", incident_channels=True
        )
        await drift_alert(vigil, clock)
        await vigil.incidents.set_severity(1, "P2", actor="@sam")  # P2: a channel of its own
        # The drift chart reaches the card's thread, then its copy in the incident channel
        # is refused once: the retry must send the copy only.
        slack.fail_next("files.completeUploadExternal", kind="http_503", after=1)

        await outbox.run_once(clock())
        clock.advance(minutes=1)
        await outbox.run_once(clock())

        [card] = [m for m in slack.messages(channel) if m.thread_ts is None]
        [room] = [cid for cid, c in slack.channels.items() if c["name"].startswith("inc-")]
        [copy] = [m for m in slack.messages(room) if m.thread_ts is None]
        for where, ts in ((channel, card.ts), (room, copy.ts)):
            names = [f.filename for f in slack.shared_files(where, ts)]
            assert names == ["incident-1-drift-income.png", "incident-1-accuracy.png"]
        assert len(slack.calls_to("files.completeUploadExternal")) == 5  # 4 shared, 1 refused


async def test_a_missing_chart_file_goes_as_its_line(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        out = tmp_path / "evidence"
        channel, vigil, outbox = await slack_vigil(make_vigil, slack, clock, out)
        await drift_alert(vigil, clock)
        (out / "incident-1-drift-income.png").unlink()  # cleaned up before Slack was reached

        await outbox.run_once(clock())

        [card] = [m for m in slack.messages(channel) if m.thread_ts is None]
        [accuracy] = slack.shared_files(channel, card.ts)
        assert accuracy.filename == "incident-1-accuracy.png"
        lines = [m.text for m in slack.thread(channel, card.ts) if not m.files]
        assert any("Chart attached: income" in t and "drift-income.png" in t for t in lines)


async def test_an_upload_url_that_keeps_failing_gives_way_to_the_line(
    make_vigil: MakeVigil, clock: FakeClock, tmp_path: Path
) -> None:
    async with SlackStandin() as slack:
        channel, vigil, outbox = await slack_vigil(make_vigil, slack, clock, tmp_path / "evidence")
        await drift_alert(vigil, clock)
        slack.fail_next("upload", times=UPLOAD_TRIES, kind="http_503")

        for wait in (0, 1, 2):  # the backoff after the 1st and 2nd failed attempts
            clock.advance(seconds=wait)
            await outbox.run_once(clock())

        [card] = [m for m in slack.messages(channel) if m.thread_ts is None]
        assert [f.filename for f in slack.shared_files(channel, card.ts)] == [
            "incident-1-accuracy.png"  # the next chart still goes as a picture
        ]
        lines = [m.text for m in slack.thread(channel, card.ts) if not m.files]
        assert sum("Chart attached: income" in t for t in lines) == 1
        assert len(slack.calls_to("upload")) == UPLOAD_TRIES + 1


async def test_the_standin_refuses_uploads_missing_what_slack_requires() -> None:
    async with SlackStandin() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.url)
        with pytest.raises(SlackApiError) as no_length:
            await client.api_call("files.getUploadURLExternal", params={"filename": "a.png"})
        assert no_length.value.response["error"] == "invalid_arguments"
        with pytest.raises(SlackApiError) as zero:
            await client.files_getUploadURLExternal(filename="a.png", length=0)
        assert zero.value.response["error"] == "missing_argument"
        with pytest.raises(SlackApiError) as no_files:
            await client.api_call("files.completeUploadExternal", params={"channel_id": "C1"})
        assert no_files.value.response["error"] == "invalid_arguments"
        got = await client.files_getUploadURLExternal(filename="a.png", length=4)
        with pytest.raises(SlackApiError) as not_uploaded:  # announced, bytes never sent
            await client.files_completeUploadExternal(files=[{"id": got["file_id"]}])
        assert not_uploaded.value.response["error"] == "file_not_found"
        with pytest.raises(SlackApiError) as unthreaded:
            await client.files_completeUploadExternal(
                files=[{"id": got["file_id"]}], thread_ts="1.000100"
            )
        assert unthreaded.value.response["error"] == "invalid_arguments"
