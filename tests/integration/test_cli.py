"""The installed ``vigil`` entry point, run as a real process in an empty directory.

``check`` and ``--help`` run to completion; ``serve`` and ``run`` are started, awaited on
``/healthz`` (a bounded poll that also awaits the child's exit), driven over HTTP and stopped
with SIGTERM, which must end them with status 0 on their own.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.procs import BIN, POLL, Child, clean_env, free_port, running
from tests.support import fixture_json

VIGIL = BIN / "vigil"
BUDGET = 60.0  # seconds for one whole server test
FIXTURE = "alertmanager-v4-firing.json"


@pytest.fixture(autouse=True)
def _entry_point() -> None:
    assert VIGIL.is_file(), f"{VIGIL} is missing: run `make venv` (uv sync installs it)"


def vigil(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``vigil ARGS`` to completion (60 s at most) with a clean VIGIL_* environment."""
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(VIGIL), *args],
        cwd=cwd,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# --- help ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--help"], ["usage: vigil", "incident ChatOps", "run", "serve", "check"]),
        (["run", "--help"], ["usage: vigil run", "chat backend", "--config", "--host", "--port"]),
        (["serve", "--help"], ["usage: vigil serve", "HTTP endpoints only", "--port"]),
        (["check", "--help"], ["usage: vigil check", "Validate", "--playbooks", "--templates"]),
        (["model", "--help"], ["usage: vigil model", "list", "register", "promote", "canary"]),
    ],
    ids=["vigil", "run", "serve", "check", "model"],
)
def test_help_describes_each_command(tmp_path: Path, args: list[str], expected: list[str]) -> None:
    done = vigil(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout, f"{text!r} missing from:\n{done.stdout}"
    assert done.stderr == ""


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    done = vigil(cwd=tmp_path)
    assert done.returncode == 2
    assert "usage: vigil" in done.stderr
    assert "COMMAND" in done.stderr


# --- check ---------------------------------------------------------------------------------


def test_check_in_an_empty_directory_uses_the_embedded_defaults(tmp_path: Path) -> None:
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: config (embedded defaults);"), done.stdout
    # What vigil run loads from here: the bundled ones (it used to say "0 playbooks").
    assert done.stdout.splitlines()[0].endswith("; 3 playbooks (bundled); 1 template (bundled)")
    assert done.stderr == ""


def test_check_counts_what_it_validated(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "vigil.yaml": "classification:\n  rules:\n"
            "    - {severity: P2, name: drift, all_of: [{signal: psi, op: '>', value: 0.2}]}\n",
            # The real playbook loader knows its actions: "restart" is not one of them.
            "playbooks/restart.yaml": "steps:\n  - action: check.manual\n"
            "    params: {text: the scorer restarted}\n",
            "templates/postmortem.md.j2": "# {{ incident.title }}\n{% if x %}x{% endif %}\n",
        },
    )
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "OK: config vigil.yaml; 1 classification rules; 24 rules on, 8 off until configured; "
        "3 playbooks (bundled) [playbooks/ holds 1 playbook that vigil run does not load: set "
        "playbooks_dir: playbooks in vigil.yaml to use them]; 1 template (bundled) "
        "[templates/ holds 1 template that vigil run does not load: set templates_dir: "
        "templates in vigil.yaml to use them]",
        "Paging: no escalation policy, so nobody is paged (incidents still post).",
    ]
    config = "playbooks_dir: playbooks\ntemplates_dir: templates\n"
    write(tmp_path, {"vigil.yaml": config, "templates/extra.md.j2": "{{ incident.id }}\n"})
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(
        "; 4 playbooks (1 yours from playbooks, 3 bundled); "
        "2 templates (yours, from templates)"  # postmortem.md.j2 overrides the bundled one
    ), done.stdout


def test_check_says_which_policy_pages_for_what(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "vigil.yaml": "escalation_policies:\n"
            "  ml: {levels: [{notify: ['@priya'], wait: 10m}]}\n"
            "routes:\n  - {match: {model: 'fraud-*'}, policy: ml}\n"
            "  - {policy: none}\n"
        },
    )
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "Paging: P1 pages at once, no level waits over 5 min; P2 pages at once, no level waits "
        "over 15 min; P3 pages in working hours (Mon-Fri 09:00-17:00 UTC); P4 posts to the "
        "channel only; routes[0] (model=fraud-*) → ml; routes[1] (catch-all) → post only.",
        "Policy ml: Level 1: @priya now; nobody acknowledged after 10 min: escalation exhausted.",
    ]


ROLLBACK_NO_MODEL = "steps:\n  - action: registry.rollback\n"
BAD_RULE = (
    "classification:\n  rules:\n"
    '    - {severity: P9, name: x, all_of: [{signal: psi, op: ">", value: 0.2}]}\n'
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"vigil.yaml": "databse_url: sqlite+aiosqlite:///v.db\n"},
            ["vigil.yaml: databse_url: unknown key (allowed: auto_resolve,"],
            id="unknown-key",
        ),
        pytest.param(
            {"vigil.yaml": "http:\n  port: 70000\n"},
            ["vigil.yaml: http.port: must be between 0 and 65535, got 70000"],
            id="port-out-of-range",
        ),
        pytest.param(
            {"vigil.yaml": "http:\n  prot: 9090\n"},
            ["vigil.yaml: http.prot: unknown key (allowed: host, port, max_body_bytes)"],
            id="http-key-typo",
        ),
        pytest.param(
            {"vigil.yaml": BAD_RULE},
            ["vigil.yaml: classification.rules[0].severity:", "P9"],
            id="bad-rule-severity",
        ),
        pytest.param(
            {"vigil.yaml": "log_level: info\nhttp:\n  port: 8080\n host: 127.0.0.1\n"},
            ["vigil.yaml:4: not valid YAML"],
            id="broken-yaml",
        ),
        pytest.param(
            {"playbooks/x.yaml": "description: restart the scorer\n"},
            ["playbooks/x.yaml: steps: must be a non-empty list"],
            id="playbook-without-steps",
        ),
        pytest.param(
            {
                "playbooks/x.yaml": "steps:\n  - action: incident.note\n    params: {text: hi}\n"
                "  - name: restart\n"
            },
            ["playbooks/x.yaml: steps[1].action: missing; known actions:", "registry.rollback"],
            id="playbook-step-without-action",
        ),
        pytest.param(
            {"vigil.yaml": "playbooks_dir: books\n", "books/rollback.yaml": ROLLBACK_NO_MODEL},
            ["books/rollback.yaml: steps[0].params.model: required by registry.rollback"],
            id="playbooks-dir-bad-step",
        ),
        pytest.param(
            {"vigil.yaml": "playbooks_dir: nowhere\n"},
            ["vigil.yaml: playbooks_dir: no such directory: nowhere"],
            id="playbooks-dir-missing",
        ),
        pytest.param(
            {
                "vigil.yaml": "maintenance:\n  - {name: db, start: '2026-12-13T02:00', "
                "duration: 2h, rrule: 'FREQ=WEEKLY;BYDAY=SUN', services: [payments]}\n"
            },
            ["vigil.yaml: maintenance[0].rrule: is not an RFC 5545 RRULE: invalid 'BYDAY'"],
            id="maintenance-bad-rrule",
        ),
        pytest.param(
            {"vigil.yaml": "retrain_url: ftp://trainer/retrain\n"},
            ["vigil.yaml: retrain_url: must be an http:// or https:// URL with a host"],
            id="retrain-url-not-http",
        ),
        pytest.param(
            {"templates/bad.md.j2": "# Post-mortem\n{% if %}\nbody\n"},
            ["templates/bad.md.j2:2:", "Expected an expression"],
            id="template-empty-if",
        ),
        pytest.param(
            {"templates/sub/bad.md.j2": "# Post-mortem\n{% if incident %}\nbody\n"},
            ["templates/sub/bad.md.j2:", "endif"],
            id="template-unclosed-if",
        ),
    ],
)
def test_check_names_the_file_and_field_of_the_first_problem(
    tmp_path: Path, files: dict[str, str], expected: list[str]
) -> None:
    write(tmp_path, files)
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("vigil: configuration error: "), done.stderr
    for text in expected:
        assert text in done.stderr, f"{text!r} missing from:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    assert "OK" not in done.stdout


def test_check_counts_your_playbooks_dir_and_never_echoes_a_retrain_url(
    tmp_path: Path,
) -> None:
    write(
        tmp_path,
        {
            "vigil.yaml": "playbooks_dir: books\nretrain_url: https://u:hunter2@trainer/x\n",
            "books/rollback.yaml": "steps:\n  - action: registry.rollback\n"
            "    params: {model: '{{ model }}'}\n",
        },
    )
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "; 3 playbooks (1 yours from books, 2 bundled);" in done.stdout  # rollback: yours
    write(tmp_path, {"vigil.yaml": "retrain_url: gopher://u:hunter2@trainer/x\n"})
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 1
    assert "retrain_url: must be an http:// or https:// URL" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_check_says_where_model_moves_land_without_the_token(tmp_path: Path) -> None:
    done = vigil("check", cwd=tmp_path)
    assert "model registry" not in done.stdout  # the built-in default goes unsaid
    write(
        tmp_path,
        {
            "vigil.yaml": "registry:\n  kind: mlflow\n  mlflow:\n"
            "    tracking_uri: http://u:hunter2@mlflow.internal:5000\n"
        },
    )
    done = vigil("check", cwd=tmp_path, VIGIL_MLFLOW_TOKEN="tok-hunter3")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "model registry: MLflow at http://mlflow.internal:5000 "
        "(alias champion = stable, challenger = canary, token from VIGIL_MLFLOW_TOKEN)"
    )
    assert "hunter" not in done.stdout + done.stderr


def test_check_refuses_a_webhook_secret_that_start_up_refuses_with_the_same_words(
    tmp_path: Path,
) -> None:
    write(tmp_path, {"vigil.yaml": "notify:\n  webhook: {url: 'https://hooks.example/vigil'}\n"})
    short = "s3cr3tXYZ"  # 9 characters
    db = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
    checked = vigil("check", cwd=tmp_path, VIGIL_WEBHOOK_SECRET=short)
    started = vigil("serve", cwd=tmp_path, VIGIL_WEBHOOK_SECRET=short, VIGIL_DATABASE_URL=db)
    said = (
        "vigil: configuration error: notify.webhook: VIGIL_WEBHOOK_SECRET must be at least 16 "
        "characters (`openssl rand -hex 32` makes one)\n"
    )
    assert (checked.returncode, checked.stdout, checked.stderr) == (1, "", said)
    assert (started.returncode, started.stderr) == (1, said)
    long_enough = vigil("check", cwd=tmp_path, VIGIL_WEBHOOK_SECRET=short * 2)
    assert long_enough.returncode == 0, long_enough.stderr
    assert short not in checked.stderr + started.stderr + long_enough.stdout


def test_check_reads_vigil_config_from_the_environment(tmp_path: Path) -> None:
    write(tmp_path, {"conf/prod.yaml": "http:\n  port: -1\n"})
    done = vigil("check", cwd=tmp_path, VIGIL_CONFIG="conf/prod.yaml")
    assert done.returncode == 1
    assert "conf/prod.yaml: http.port: must be between 0 and 65535, got -1" in done.stderr


def test_check_with_a_missing_config_file(tmp_path: Path) -> None:
    done = vigil("check", "--config", "nope.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "nope.yaml: cannot read the config file" in done.stderr
    assert "Traceback" not in done.stderr


# --- serve and run -------------------------------------------------------------------------


class Server:
    """A ``vigil serve``/``vigil run`` child and an HTTP client for it."""

    def __init__(self, child: Child, port: int, http: aiohttp.ClientSession) -> None:
        self.child = child
        self.base = f"http://127.0.0.1:{port}"
        self.http = http

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, str]:
        """(status, headers as text, body) of one request."""
        async with self.http.request(method, self.base + path, **kwargs) as resp:
            headers = "\n".join(f"{k}: {v}" for k, v in resp.headers.items())
            return resp.status, headers, await resp.text()

    async def json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, _, body = await self.request(method, path, **kwargs)
        return status, json.loads(body)


@asynccontextmanager
async def vigil_server(
    command: str, tmp_path: Path, log_name: str, **env: str
) -> AsyncIterator[Server]:
    """``vigil COMMAND --port P`` in ``tmp_path``, ready on /healthz; stopped on the way out."""
    port = free_port()
    argv = [str(VIGIL), command, "--port", str(port)]
    async with (
        running(
            f"vigil {command}",
            argv,
            log_path=tmp_path / log_name,
            cwd=tmp_path,
            env=clean_env(**env),
        ) as child,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        server = Server(child, port, http)
        await child.wait_http(f"{server.base}/healthz", within=30)
        yield server


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"


async def test_serve_stops_on_sigterm_and_keeps_incidents_across_a_restart(
    tmp_path: Path,
) -> None:
    db = sqlite_url(tmp_path)
    payload = fixture_json(FIXTURE)
    async with asyncio.timeout(BUDGET):
        async with vigil_server("serve", tmp_path, "first.log", VIGIL_DATABASE_URL=db) as server:
            status, health = await server.json("GET", "/healthz")
            assert (status, health["status"], health["database"]) == (200, "ok", "up")
            assert health["sources"]["pushed"] == "up"
            status, body = await server.json("POST", "/alerts/alertmanager", json=payload)
            assert status == 200, body
            assert body["results"][0]["action"] == "opened"
            [incident_id] = body["incidents"]
            status, before = await server.json("GET", f"/api/v1/incidents/{incident_id}")
            assert status == 200
            assert before["alerts"][0]["fingerprint"] == "420abf6469f5137f"
            assert before["severity"] == "P1"
            await server.child.stop_cleanly(signal.SIGTERM)
        first_log = server.child.log()
        assert "Vigil is up" in first_log
        assert "console" not in first_log  # serve never offers the console
        assert "Traceback" not in first_log

        # Same database, fresh process: migrations run again (idempotent), the data is there.
        async with vigil_server("serve", tmp_path, "second.log", VIGIL_DATABASE_URL=db) as server:
            status, after = await server.json("GET", f"/api/v1/incidents/{incident_id}")
            assert status == 200
            assert after == before
            status, listed = await server.json("GET", "/api/v1/incidents")
            assert [i["id"] for i in listed["incidents"]] == [incident_id]
            # The open incident's grouping key survived too: the same alert joins it.
            status, body = await server.json("POST", "/alerts/alertmanager", json=payload)
            assert status == 200, body
            assert body["results"][0] == {
                "fingerprint": "420abf6469f5137f",
                "incident_id": incident_id,
                "action": "repeated",
            }
            await server.child.stop_cleanly(signal.SIGTERM)
        assert "Traceback" not in server.child.log()


async def test_run_without_a_terminal_serves_http_and_logs_changes(tmp_path: Path) -> None:
    async with asyncio.timeout(BUDGET):
        async with vigil_server(
            "run", tmp_path, "run.log", VIGIL_DATABASE_URL=sqlite_url(tmp_path)
        ) as server:
            status, body = await server.json(
                "POST", "/alerts/alertmanager", json=fixture_json(FIXTURE)
            )
            assert status == 200, body
            [incident_id] = body["incidents"]
            await server.child.stop_cleanly(signal.SIGTERM)
    log = server.child.log()
    assert "stdin is not a terminal: console chat is off" in log, log
    # With no console, incident changes are written to the log instead.
    assert f"P1 #{incident_id} opened: 5xx ratio above 5% on payments" in log, log
    assert "Traceback" not in log


async def test_tokens_never_appear_in_responses_or_logs(tmp_path: Path) -> None:
    ingest, api = "supersecret", "apisecret-7d1e"
    payload = fixture_json(FIXTURE)
    seen: list[str] = []
    async with asyncio.timeout(BUDGET):
        async with vigil_server(
            "serve",
            tmp_path,
            "secret.log",
            VIGIL_DATABASE_URL=sqlite_url(tmp_path),
            VIGIL_INGEST_TOKEN=ingest,
            VIGIL_API_TOKEN=api,
            VIGIL_LOG_LEVEL="DEBUG",
        ) as server:

            async def call(method: str, path: str, expect: int, **kwargs: Any) -> str:
                status, headers, body = await server.request(method, path, **kwargs)
                assert status == expect, (method, path, status, body)
                seen.append(headers + "\n" + body)
                return body

            def bearer(token: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {token}"}

            await call("POST", "/alerts/alertmanager", 401, json=payload)
            await call("POST", "/alerts/alertmanager", 401, json=payload, headers=bearer("wrong"))
            await call("POST", "/alerts/alertmanager", 401, json=payload, headers=bearer(api))
            await call("POST", "/alerts/alertmanager", 400, data=b"{", headers=bearer(ingest))
            body = await call(
                "POST", "/alerts/alertmanager", 200, json=payload, headers=bearer(ingest)
            )
            [incident_id] = json.loads(body)["incidents"]
            await call("GET", f"/api/v1/incidents/{incident_id}", 401, headers=bearer(ingest))
            await call("GET", f"/api/v1/incidents/{incident_id}", 200, headers=bearer(api))
            await call("GET", "/api/v1/incidents", 200, headers=bearer(api))
            await call("GET", "/metrics", 200)
            await call("GET", "/healthz", 200)
            await call("GET", "/nowhere", 404, headers=bearer(ingest))
            await server.child.stop_cleanly(signal.SIGTERM)
    log = server.child.log()
    assert "Vigil is up" in log  # the log was captured at all
    assert "DEBUG" in log  # ... at the most talkative level
    for text in [*seen, log]:
        assert ingest not in text
        assert api not in text


async def serve_must_refuse(tmp_path: Path, port: int, *args: str) -> tuple[int, str]:
    """Start ``vigil serve ARGS``; return (exit status, output) once it exits by itself.

    Fails at once if it answers /healthz on ``port``: it started despite its config.
    """
    argv = [str(VIGIL), "serve", *args]
    url = f"http://127.0.0.1:{port}/healthz"
    async with (
        asyncio.timeout(BUDGET),
        running(
            "vigil serve", argv, log_path=tmp_path / "serve.log", cwd=tmp_path, env=clean_env()
        ) as child,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http,
    ):
        while not await child.exited_within(POLL):
            try:
                async with http.get(url) as resp:
                    pytest.fail(f"vigil serve answered {resp.status} on {url}; {child.describe()}")
            except aiohttp.ClientConnectionError:
                pass  # not listening (yet): keep awaiting its exit
        assert child.returncode is not None
        return child.returncode, child.log()


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        pytest.param(
            {"vigil.yaml": "databse_url: sqlite+aiosqlite:///v.db\n"},
            ["--port", "{port}"],
            "vigil.yaml: databse_url: unknown key (allowed: auto_resolve,",
            id="unknown-key",
        ),
        pytest.param(
            {"vigil.yaml": BAD_RULE},
            ["--port", "{port}"],
            "vigil.yaml: classification.rules[0].severity:",
            id="bad-rule",
        ),
        pytest.param(
            {"vigil.yaml": "http:\n  port: 99999\n"},
            [],
            "vigil.yaml: http.port: must be between 0 and 65535, got 99999",
            id="bad-port-in-file",
        ),
        pytest.param(
            {"vigil.yaml": "http:\n  port: 99999\n"},
            ["--port", "{port}"],
            "vigil.yaml: http.port: must be between 0 and 65535, got 99999",
            id="bad-port-in-file-overridden-by-flag",
        ),
        pytest.param(
            {"vigil.yaml": "playbooks_dir: books\n", "books/rollback.yaml": ROLLBACK_NO_MODEL},
            ["--port", "{port}"],
            "books/rollback.yaml: steps[0].params.model: required by registry.rollback",
            id="broken-playbook",
        ),
        pytest.param(
            {"vigil.yaml": 'database_url: "not a url"\n'},
            ["--port", "{port}"],
            "database_url",
            id="malformed-database-url",
        ),
    ],
)
async def test_serve_refuses_bad_config_naming_the_key(
    tmp_path: Path, files: dict[str, str], args: list[str], expected: str
) -> None:
    write(tmp_path, files)
    port = free_port()
    code, output = await serve_must_refuse(tmp_path, port, *(a.format(port=port) for a in args))
    assert code == 1, output
    assert output.startswith("vigil: configuration error: "), output
    assert expected in output
    assert "Traceback" not in output


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = vigil(
            "serve", "--port", str(port), cwd=tmp_path, VIGIL_DATABASE_URL=sqlite_url(tmp_path)
        )
    assert done.returncode == 1, done.stderr
    assert "vigil: cannot start:" in done.stderr
    assert str(port) in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_an_unreachable_database_says_so_without_the_password(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        done = vigil(
            "serve",
            "--port",
            str(free_port()),
            cwd=tmp_path,
            VIGIL_DATABASE_URL=f"postgresql://bob:hunter2@127.0.0.1:{port}/vigil",
        )
    assert done.returncode == 1, done.stderr
    assert "vigil: cannot start: cannot open the database postgresql://bob:***@" in done.stderr
    assert "hunter2" not in done.stderr
    assert "Traceback" not in done.stderr
