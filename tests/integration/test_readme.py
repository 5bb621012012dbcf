"""The README's examples, run: what a new user copies must work as the README says.

Every ``yaml`` block that is a piece of ``vigil.yaml`` passes the same checks as
``vigil check`` (the Alertmanager receiver passes ``amtool check-config``); every command of
the README's command table is accepted by the command runner, never answered with its usage
line (``/rollout`` too: a rollout started, read, stopped, and an A/B test started); the
``vigil model`` lines run in order against a real database; the heartbeat and
generic-alert examples are accepted by the API, and the heartbeat's answer has the fields
the README shows; the predictions examples are accepted and counted under their versions.
Other examples are run where their feature is tested (the list and
``.ics`` examples in test_pagination and test_oncall_command, ``/healthz`` in
test_dependency_alerts, the snooze names in test_snooze_metrics).
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.chat.commands.spec import SUBCOMMANDS
from bot.config.load import Settings, load_settings
from bot.core.secret import Secret
from bot.ingest.generic import parse_generic
from bot.monitoring.store import ReferenceStore
from bot.quality.profile import build_profile
from bot.runtime.checks import run_checks
from bot.silences.matchers import Matcher
from bot.silences.spec import SilenceSpec
from tests.conftest import MakeVigil
from tests.integration.procs import in_ci, vigil_model
from tests.integration.test_model_quality import store_reference
from tests.support import FakeClock

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
SECRETS = {
    "VIGIL_PAGERDUTY_ROUTING_KEY": "0123456789abcdef0123456789abcdef",
    "VIGIL_SMTP_PASSWORD": "smtp-password-for-the-readme",
    "VIGIL_WEBHOOK_SECRET": "webhook-secret-for-the-readme-0123",
    "VIGIL_AIRFLOW_TOKEN": "airflow-token-for-the-readme",
}


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README) if lang == language]


def config_blocks() -> list[Any]:
    """The ``yaml`` blocks that are pieces of vigil.yaml (not Alertmanager's own file, nor
    the Flagger and Argo Rollouts objects: ``test_the_flagger_and_argo_examples_…``)."""
    return [
        pytest.param(body, id=next(iter(yaml.safe_load(body))))
        for body in blocks("yaml")
        if not {"receivers", "apiVersion"} & set(yaml.safe_load(body))  # Alertmanager, k8s
    ]


@pytest.mark.parametrize("body", config_blocks())
def test_each_vigil_yaml_example_passes_vigil_check(body: str, tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text(body)
    report = run_checks(
        str(tmp_path / "vigil.yaml"),
        {"VIGIL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'v.db'}", **SECRETS},
        playbooks=ROOT / "playbooks",
        templates=ROOT / "templates",
    )
    assert report.summary().startswith("OK: config "), report.summary()


def test_the_alertmanager_receiver_example_passes_amtool(tmp_path: Path) -> None:
    amtool = shutil.which("amtool")
    if amtool is None:
        message = "amtool is not installed (apt-get install prometheus-alertmanager)"
        if in_ci():
            pytest.fail(message + " (CI=true: the README's Alertmanager example must be checked)")
        pytest.skip(message)
    [receiver] = [b for b in blocks("yaml") if "receivers" in yaml.safe_load(b)]
    config = {"route": {"receiver": "vigil"}, **yaml.safe_load(receiver)}
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    done = subprocess.run(  # noqa: S603 (a fixed tool, our own file)
        [amtool, "check-config", str(tmp_path / "am.yml")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


def table_commands() -> list[str]:
    """The command column of the README's table, with its placeholders filled in."""
    cells = re.findall(r"^\| `(/(?:incident|rollback|rollout|silence)[^`]*)` \|", README, re.M)
    filled = {
        "N": "1",
        "TITLE": "Ranker slow",
        "TEXT": "looked at the dashboards",
        "MODEL": "fraud-scorer",
        "NAME": "ml-oncall",
        "SINCE": "30d",
        "C": "WyJvcGVuIl0",
        "S": "payments",
        "M": "fraud-scorer",
        "VERSION": "v1",
        "A": "v2",
        "B": "v1",
    }
    out = []
    for cell in cells:
        text = cell.replace("\\|", "|")
        text = re.sub(r"\[--sev P1\.\.P4\]", "--sev P3", text)
        text = re.sub(r"\[--service S \| --model M\]", "--service payments", text)
        text = re.sub(r"\[([^\]]*)\]", r"\1", text)  # optional parts: given
        text = re.sub(
            r"\b(N|TITLE|TEXT|MODEL|NAME|SINCE|C|S|M|VERSION|A|B)\b", lambda m: filled[m[1]], text
        )
        out.append(text)
    return out


async def test_every_command_of_the_table_does_what_it_says(
    make_vigil: MakeVigil, settings: Settings, tmp_path: Path
) -> None:
    """Each command on an incident of its own (so one's state is not the next one's
    refusal), with the README's rotations and a registry holding the model: no usage line,
    no refusal, except retraining, which the table says needs ``retrain_url``."""
    [paging] = [b for b in blocks("yaml") if b.startswith("rotations:")]
    (tmp_path / "vigil.yaml").write_text(paging)
    loaded = load_settings(tmp_path / "vigil.yaml", {"VIGIL_DATABASE_URL": settings.database_url})
    vigil = await make_vigil(oncall=loaded.oncall)
    await vigil.registry.register("fraud-scorer", "v1", stage="stable", actor="@maya")
    await vigil.registry.register("fraud-scorer", "v2", stage="stable", actor="@maya")
    commands = table_commands()
    assert len(commands) >= 15, commands  # the table was found and read
    for command in commands:
        opened = await vigil.incidents.open(
            title="Ranker slow", actor="@maya", model="fraud-scorer", severity="P2"
        )
        if command.startswith("/incident silence"):  # an incident of alerts
            alert = {
                "title": "Latency high",
                "labels": {"alertname": "LatencyHigh", "service": "payments"},
            }
            [made] = await vigil.ingestor.ingest(parse_generic(alert, now=vigil.clock()))
            opened = await vigil.incidents.get(made.incident_id or 0)
        if " ID" in command:  # a silence to expire or extend
            held = await vigil.silences.create(
                SilenceSpec(
                    (Matcher("service", "payments"),),
                    vigil.clock(),
                    vigil.clock() + timedelta(hours=1),
                    "@maya",
                )
            )
            command = command.replace(" ID", f" {held.short_id}")
        command = re.sub(r"\b1\b", str(opened.id), command).replace("--cursor WyJvcGVuIl0", "")
        words = shlex.split(command)
        rest = " ".join(words[1:])
        if words[0] == "/rollback":  # v2 serves again (contain --pin put v1 back)
            await vigil.registry.promote("fraud-scorer", "v2", actor="@maya")
            reply = await vigil.commands.run_rollback(rest, actor="@maya")
        elif words[0] == "/rollout":  # v1 against v2, the stable version (see /rollback)
            stable = await vigil.registry.stable("fraud-scorer")
            if words[1] in ("start", "ab") and stable is not None and stable.version != "v2":
                await vigil.registry.promote("fraud-scorer", "v2", actor="@maya")
            reply = await vigil.commands.run_rollout(rest, actor="@maya")
        elif words[0] == "/silence":
            reply = await vigil.commands.run_silence(command[len("/silence ") :], actor="@maya")
        else:
            if words[1:3] == ["snooze", str(opened.id)] and words[3] == "off":
                await vigil.commands.run_incident(f"snooze {opened.id} 30m", actor="@maya")
            reply = await vigil.commands.run_incident(rest, actor="@maya")
        if words[1:2] == ["retrain"]:
            assert "set retrain_url in vigil.yaml" in reply.text, reply.text
            continue
        assert not reply.text.startswith("⚠️"), (command, reply.text)
        assert "usage" not in reply.text.lower(), (command, reply.text)


def test_the_model_commands_run_in_order(tmp_path: Path) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    for args in (("register", "fraud-scorer", "v2", "--stage", "stable"),):
        assert vigil_model(db, *args, cwd=tmp_path).returncode == 0
    [block] = [b for b in blocks("sh") if "vigil model register" in b]
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        assert words[:2] == ["vigil", "model"], line
        done = vigil_model(db, *words[2:], cwd=tmp_path)
        assert done.returncode == 0, (line, done.stderr)
    history = vigil_model(db, "list", "fraud-scorer", cwd=tmp_path).stdout
    assert "v3" in history, history
    assert "v2" in history, history


async def test_the_heartbeat_and_generic_alert_examples_are_accepted(
    make_vigil: MakeVigil, settings: Settings, tmp_path: Path
) -> None:
    [declared] = [b for b in blocks("yaml") if b.startswith("heartbeats:")]
    (tmp_path / "vigil.yaml").write_text(declared)
    loaded = load_settings(tmp_path / "vigil.yaml", {"VIGIL_DATABASE_URL": settings.database_url})
    vigil = await make_vigil(heartbeats=loaded.heartbeats)
    [beat] = [b for b in blocks("sh") if "/api/v1/heartbeats/" in b]
    sent = re.search(r"-d '(.*?)'", beat, re.S)
    assert sent is not None, beat
    [answer] = [b for b in blocks("json") if '"next_due"' in b]
    [alert] = [b for b in blocks("json") if '"nightly-eval"' in b]
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        resp = await client.post("/alerts/generic", json=json.loads(alert))
        assert resp.status == 200, await resp.text()
        listed = (await (await client.get("/api/v1/incidents")).json())["incidents"]
        # The classification table: accuracy below SLA is a P2 (P1 on a critical model).
        assert [(i["title"], i["severity"]) for i in listed] == [
            ("Accuracy below SLA on fraud-scorer", "P2")
        ]
        resp = await client.post("/api/v1/heartbeats/fraud-scoring", json=json.loads(sent[1]))
        got = await resp.json()
        assert resp.status == 200, got
        assert set(got) == set(json.loads(answer)), got


async def test_the_prediction_examples_are_accepted_and_counted_per_version(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    vigil = await make_vigil()
    profile = build_profile(
        {
            "amount": [10.0 + i for i in range(200)],
            "merchant_category": ["grocery", "travel"] * 100,
        },
        prediction=["ok", "fraud"] * 100,
        confidence=[0.9] * 200,
    )
    await ReferenceStore(vigil.db).save(
        "fraud-scorer", "v7", profile, source="readme", actor="test", now=clock()
    )
    indented = re.findall(r"^ *```sh\n(.*?)^ *```", README, re.S | re.M)  # in a list item
    examples = [
        b
        for b in indented
        if "/api/v1/models/fraud-scorer/predictions" in b and '"shadow": true' not in b
    ]
    assert len(examples) == 2
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        for example in examples:
            sent = re.search(r"-d '(.*?)'", example, re.S)
            assert sent is not None, example
            resp = await client.post(
                "/api/v1/models/fraud-scorer/predictions", json=json.loads(sent[1])
            )
            got = await resp.json()
            assert (resp.status, got["accepted"]) == (200, 1), got
        resp = await client.get("/api/v1/models/fraud-scorer/quality", params={"version": "v8"})
        got = await resp.json()
        assert (resp.status, got["window"]["rows"]) == (200, 1), got
        resp = await client.get("/api/v1/models/fraud-scorer/quality")
        lines = {line["version"]: line["rows"] for line in (await resp.json())["versions"]}
        assert lines == {"unknown": 1, "v8": 1}  # no registry here: no stable version


def test_the_example_config_passes_vigil_check() -> None:
    """``vigil.example.yaml``, which says every setting with its default, is what it says:
    valid as it stands (and so are its commented-out keys, uncommented one block at a
    time, in the tests of their features)."""
    report = run_checks(
        str(ROOT / "vigil.example.yaml"),
        {"VIGIL_DATABASE_URL": "sqlite+aiosqlite:///:memory:", **SECRETS},
        playbooks=ROOT / "playbooks",
        templates=ROOT / "templates",
    )
    assert report.summary().startswith("OK: config "), report.summary()


def test_the_table_and_incident_help_name_the_same_subcommands() -> None:
    in_table = {c.split()[1] for c in table_commands() if c.startswith("/incident")}
    assert in_table == set(SUBCOMMANDS) - {"help"}, in_table ^ set(SUBCOMMANDS)


async def test_the_shadow_example_is_paired_and_read_without_touching_the_live_figures(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    vigil = await make_vigil()
    profile = build_profile(
        {
            "amount": [10.0 + i for i in range(200)],
            "merchant_category": ["grocery", "travel"] * 100,
        },
        prediction=["ok", "fraud"] * 100,
        confidence=[0.9] * 200,
    )
    await ReferenceStore(vigil.db).save(
        "fraud-scorer", "v7", profile, source="readme", actor="test", now=clock()
    )
    [example] = [b for b in blocks("sh") if '"shadow": true' in b]
    [read] = [b for b in blocks("sh") if "/shadow?version=v9" in b]
    assert "vigil model shadow fraud-scorer v9" in read
    sent = re.search(r"-d '(.*?)'", example, re.S)
    assert sent is not None, example
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        path = "/api/v1/models/fraud-scorer/predictions"
        resp = await client.post(path, json=json.loads(sent[1]))
        got = await resp.json()
        assert (resp.status, got["shadow"], got["accepted"], got["waiting"]) == (
            200,
            True,
            1,
            0 + 1,
        )
        live = {
            "id": "txn-1",
            "features": {"amount": 141.1, "merchant_category": "grocery"},
            "prediction": "ok",
            "confidence": 0.97,
        }
        resp = await client.post(path, json={"rows": [live]})
        assert resp.status == 200
        url = re.search(r'"http://vigil.internal:8080(/[^"]+)"', read)
        assert url is not None, read
        resp = await client.get(url[1])
        got = await resp.json()
        assert (resp.status, got["pairs"], got["agreement"], got["verdict"]) == (
            200,
            1,
            0.0,
            "not_yet",
        )
        resp = await client.get("/api/v1/models/fraud-scorer/quality")
        assert [v["version"] for v in (await resp.json())["versions"]] == ["unknown"]


def kubernetes_example(kind: str) -> Any:
    [found] = [doc for doc in map(yaml.safe_load, blocks("yaml")) if doc.get("kind") == kind]
    return found


async def test_the_flagger_and_argo_examples_reach_the_judge(
    make_vigil: MakeVigil, clock: FakeClock
) -> None:
    """The README's Flagger webhooks and Argo web metric, sent as Flagger and Argo send them
    (Flagger: its JSON body with the hook's metadata; Argo: a GET of the url with its
    headers, the args filled in), are judged: no 400, no 401."""
    vigil = await make_vigil(api_token=Secret("your-vigil-api-token"))
    await store_reference(vigil, clock, "v3")
    await vigil.registry.register("fraud-scorer", "v3", stage="stable", actor="@maya")
    await vigil.registry.register("fraud-scorer", "v4", actor="@maya")
    canary = kubernetes_example("Canary")
    hooks = canary["spec"]["analysis"]["webhooks"]
    assert {h["type"] for h in hooks} == {"rollout", "confirm-promotion"}
    template = kubernetes_example("AnalysisTemplate")
    [metric] = template["spec"]["metrics"]
    web = metric["provider"]["web"]
    args = {"canary": "v4", "baseline": "v3", "since": "2026-12-01T14:00:00Z"}
    args["vigil-token"] = "your-vigil-api-token"
    url = re.sub(r"\{\{args\.([\w-]+)\}\}", lambda m: args[m[1]], web["url"])
    headers = {
        h["key"]: re.sub(r"\{\{args\.([\w-]+)\}\}", lambda m: args[m[1]], h["value"])
        for h in web["headers"]
    }
    assert web["jsonPath"] == "{$.verdict}"
    async with TestClient(TestServer(vigil.web_app(), host="127.0.0.1")) as client:
        for h in hooks:
            body = {"name": "fraud-scorer", "namespace": "ml", "phase": "Progressing"}
            resp = await client.post(
                h["url"].split(":8080", 1)[1], json={**body, "metadata": h["metadata"]}
            )
            got = await resp.json()
            assert resp.status in (200, 412), got  # judged (go or halt), not refused
            assert got["verdict"] == "inconclusive", got
        resp = await client.get(url.split(":8080", 1)[1], headers=headers)
        got = await resp.json()
        assert resp.status == 200, got
        assert got["verdict"] == "inconclusive", got
