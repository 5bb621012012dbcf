"""The real ``amtool`` (Debian's ``prometheus-alertmanager``) against Vigil's HTTP app.

What an engineer who already knows Alertmanager types at 2 a.m., unchanged, with only
``--alertmanager.url`` pointing at Vigil: ``amtool silence add|query|update|expire`` and
``amtool alert query``. Vigil serves on a loopback port in this process (real time), and amtool
runs as a child through ``asyncio.create_subprocess_exec``, so the loop keeps serving while it
waits; every call is bounded. With an API token, amtool's ``--http.config.file`` carries it.

Without ``/usr/bin/amtool`` these tests skip, saying so; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from bot.core.clock import Clock, utcnow
from bot.core.secret import Secret
from bot.ingest.alertmanager import parse_alertmanager
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.procs import BIN, clean_env, in_ci
from tests.support import am_payload

CALL_S = 20.0  # one amtool call, start to exit
TOKEN = "amtool-api-t0ken-81f3"


def _binary() -> str:
    found = shutil.which("amtool") or (
        "/usr/bin/amtool" if Path("/usr/bin/amtool").is_file() else None
    )
    if found is None:
        message = (
            "amtool is not installed (apt-get install -y --no-install-recommends "
            "prometheus-alertmanager)"
        )
        if in_ci():
            pytest.fail(message + " (CI=true: the amtool tests must run)")
        pytest.skip(message)
    return found


README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


@pytest.fixture
def clock() -> Clock:
    """Real time: amtool stamps startsAt and endsAt from the wall clock."""
    return utcnow


@dataclass(frozen=True)
class Done:
    rc: int
    out: str
    err: str


@dataclass(frozen=True)
class Amtool:
    binary: str
    url: str
    home: Path

    async def __call__(self, *args: str, config: Path | None = None) -> Done:
        """``amtool ARGS --alertmanager.url=…`` to its exit (at most CALL_S seconds), with
        an empty HOME so no user configuration is read."""
        argv = [*args, f"--alertmanager.url={self.url}"]
        if config is not None:
            argv.append(f"--http.config.file={config}")
        proc = await asyncio.create_subprocess_exec(
            self.binary,
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={"HOME": str(self.home), "PATH": "/usr/bin:/bin", "USER": "alice"},
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), CALL_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            pytest.fail(f"amtool {' '.join(args)} did not finish within {CALL_S:.0f} s")
        assert proc.returncode is not None
        return Done(proc.returncode, out.decode(), err.decode())


async def _served(vigil: Vigil, tmp_path: Path) -> AsyncIterator[Amtool]:
    binary = _binary()
    server = TestServer(vigil.web_app(), host="127.0.0.1")
    await server.start_server()
    try:
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        yield Amtool(binary, str(server.make_url("")).rstrip("/"), home)
    finally:
        await server.close()


@pytest.fixture
async def amtool(vigil: Vigil, tmp_path: Path) -> AsyncIterator[Amtool]:
    async for each in _served(vigil, tmp_path):
        yield each


def ok(done: Done) -> str:
    assert done.rc == 0, done
    assert done.err == "", done  # no warning either (amtool's GET /api/v2/status is a 404)
    return done.out


async def fire(vigil: Vigil, *names: str) -> None:
    """Firing alerts for payments, posted as Alertmanager posts them."""
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": name, "service": "payments", "severity": "critical"},
            "annotations": {"summary": f"{name} on payments"},
            "startsAt": "2026-11-24T01:55:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
        }
        for name in names
    ]
    await vigil.ingestor.ingest(parse_alertmanager(am_payload(*alerts)))


ADD = (
    "silence",
    "add",
    "service=payments",
    'alertname=~"Latency.*"',
    "--duration=2h",
    "--comment=migration",
    "--author=alice",
)


async def test_silence_add_query_update_and_expire(amtool: Amtool, vigil: Vigil) -> None:
    sid = ok(await amtool(*ADD)).strip()
    stored = await vigil.silences.get(sid)
    assert stored.id == sid
    assert [str(m) for m in stored.matchers] == ['service="payments"', 'alertname=~"Latency.*"']
    assert (stored.created_by, stored.comment) == ("alice", "migration")
    assert timedelta(hours=2) - (stored.ends_at - stored.starts_at) < timedelta(seconds=5)
    assert stored.state(utcnow()) == "active"
    other = ok(await amtool("silence", "add", "service=search", "--comment=x", "--author=bob"))
    other = other.strip()

    table = ok(await amtool("silence", "query"))
    [header, *rows] = table.splitlines()
    assert header.split()[:2] == ["ID", "Matchers"]
    [row] = [r for r in rows if r.startswith(sid)]
    assert 'service="payments" alertname=~"Latency.*"' in row
    assert "alice" in row
    assert "migration" in row
    assert {r.split()[0] for r in rows} == {sid, other}
    assert set(ok(await amtool("silence", "query", "-q")).split()) == {sid, other}
    assert ok(await amtool("silence", "query", "-q", "service=payments")).split() == [sid]
    assert ok(await amtool("silence", "query", "-q", "service=checkout")).split() == []

    [_, row] = ok(await amtool("silence", "update", sid, "--duration=3h")).splitlines()
    assert row.split()[0] == sid  # the same silence, not a new one
    updated = await vigil.silences.get(sid)
    assert updated.starts_at == stored.starts_at  # an update keeps the start
    assert timedelta(hours=3) - (updated.ends_at - updated.starts_at) < timedelta(seconds=5)

    assert ok(await amtool("silence", "expire", sid)) == ""
    assert (await vigil.silences.get(sid)).state(utcnow()) == "expired"
    assert ok(await amtool("silence", "query", "-q")).split() == [other]
    assert ok(await amtool("silence", "query", "-q", "--expired")).split() == [sid]


async def test_alert_query_shows_firing_alerts_and_what_is_silenced(
    amtool: Amtool, vigil: Vigil
) -> None:
    sid = ok(await amtool(*ADD)).strip()
    await fire(vigil, "LatencyHigh", "ErrorsHigh")
    [header, *active] = ok(await amtool("alert", "query")).splitlines()
    assert header.split() == ["Alertname", "Starts", "At", "Summary", "State"]
    assert [r.split()[0] for r in active] == ["ErrorsHigh"]
    assert "active" in active[0]
    silenced = ok(await amtool("alert", "query", "--silenced")).splitlines()[1:]
    assert [r.split()[0] for r in silenced] == ["LatencyHigh"]
    assert "suppressed" in silenced[0]
    assert "LatencyHigh on payments" in silenced[0]
    every = ok(await amtool("alert", "query", "-a", "-s", "alertname=~Latency.*")).splitlines()
    assert [r.split()[0] for r in every[1:]] == ["LatencyHigh"]
    assert f'"silencedBy":["{sid}"]' in ok(await amtool("alert", "query", "-s", "-o", "json"))


async def test_a_silence_vigil_refuses_tells_the_amtool_user_why(
    amtool: Amtool, vigil: Vigil
) -> None:
    done = await amtool("silence", "add", 'service=~".*"', "--comment=x", "--author=alice")
    assert done.rc != 0, done
    assert "400" in done.err, done.err
    assert 'service=~".*" would hush every alert that lacks service' in done.err, done.err
    done = await amtool("silence", "add", "env!=prod", "--comment=x", "--author=alice")
    assert done.rc != 0
    assert "would hush every alert" in done.err, done.err
    assert await vigil.silences.listed() == []


async def test_the_api_token_through_http_config_file(
    make_vigil: MakeVigil, tmp_path: Path
) -> None:
    vigil = await make_vigil(api_token=Secret(TOKEN))
    config = tmp_path / "amtool-http.yml"
    config.write_text(f"authorization:\n  type: Bearer\n  credentials: {TOKEN}\n")
    wrong = tmp_path / "amtool-wrong.yml"
    wrong.write_text("authorization:\n  type: Bearer\n  credentials: not-the-token\n")
    async for amtool in _served(vigil, tmp_path):
        sid = ok(await amtool(*ADD, config=config)).strip()
        assert (await vigil.silences.get(sid)).created_by == "alice"
        assert ok(await amtool("silence", "query", "-q", config=config)).split() == [sid]
        for refused in (
            await amtool(*ADD),
            await amtool("silence", "query", config=wrong),
            await amtool("silence", "expire", sid),
        ):
            assert refused.rc != 0, refused
            assert "401" in refused.err, refused.err
            assert TOKEN not in refused.err
        assert [v.id for v in await vigil.silences.listed()] == [sid]
        assert (await vigil.silences.get(sid)).state(utcnow()) == "active"


async def test_the_readme_silence_lines_run_as_written(vigil: Vigil, amtool: Amtool) -> None:
    """The README's two silence commands, as written (amtool's URL pointed at this server,
    ``vigil silence`` at this database): each stores the silence the README says."""
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", README, re.S) if "amtool silence" in b]
    lines = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    [am] = [w for w in lines if w[0] == "amtool"]
    [cli] = [w for w in lines if w[0] == "vigil"]
    made = ok(await amtool(*[w for w in am[1:] if not w.startswith("--alertmanager.url")]))
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "vigil"),
        *cli[1:],
        env=clean_env(VIGIL_DATABASE_URL=vigil.settings.database_url, USER="alice"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CALL_S)
    assert proc.returncode == 0, err.decode()
    listed = {v.id: v for v in await vigil.silences.listed()}
    assert set(listed) == {made.strip(), out.decode().splitlines()[0]}
    assert sorted(str(m) for v in listed.values() for m in v.matchers) == [
        'alertname=~"Latency.*"',
        'service="payments"',
        'service="payments"',
    ]
    assert {v.comment for v in listed.values()} == {"migration"}
    # amtool stamps its own start; the server takes a start in the past as its now
    lengths = {round((v.ends_at - v.starts_at) / timedelta(minutes=1)) for v in listed.values()}
    assert lengths == {120}
