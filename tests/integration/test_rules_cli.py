"""``vigil rules list`` and the rules part of ``vigil check``, run as real processes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.procs import BIN, clean_env

VIGIL = BIN / "vigil"
NEEDS = {
    "api-latency-p95-above-sla": "services.<name>.latency_p95_sla_ms",
    "queue-depth-above-capacity": "services.<name>.queue_capacity",
    "throughput-below-capacity-target": "services.<name>.capacity_rps",
    "confidence-below-floor": "models.<name>.confidence_floor",
    "accuracy-below-sla": "models.<name>.accuracy_sla",
    "accuracy-estimated-below-sla": "models.<name>.accuracy_sla",
    "model-latency-p99-above-sla": "models.<name>.latency_p99_sla_ms",
    "heartbeat-label-delay": "heartbeats.<name>.max_label_delay",
}


@pytest.fixture(autouse=True)
def _entry_point() -> None:
    assert VIGIL.is_file(), f"{VIGIL} is missing: run `make venv` (uv sync installs it)"


def vigil(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own entry point, fixed arguments)
        [str(VIGIL), *args],
        cwd=cwd,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def listed(tmp_path: Path, *args: str) -> dict[str, list[str]]:
    """``vigil rules list`` as {rule name: its columns}, asserting it succeeded."""
    done = vigil("rules", "list", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    rows = [line.split(None, 2) for line in done.stdout.splitlines()]
    return {row[1]: [row[0], row[2]] for row in rows}


def test_default_rules_list_shows_the_sla_rules_off_naming_the_key(tmp_path: Path) -> None:
    rules = listed(tmp_path)
    # the brief's 20, the label-free accuracy rule, gpu-xid-hardware and 4 heartbeat rules
    assert len(rules) == 32
    off = {name for name, (state, _) in rules.items() if state == "OFF"}
    assert off == set(NEEDS)
    for name, key in NEEDS.items():
        assert f"needs {key}" in rules[name][1]
    state, rest = rules["cpu-high"]
    assert state == "ON"
    assert rest.split()[:7] == [
        "cpu_utilization",
        ">",
        "80%",
        "for",
        "5m",
        "infrastructure",
        "threshold",
    ]
    # the last column: its form while watching a subject closely after a P1/P2 fix
    assert rest.endswith("watched 24h after P1/P2: for 2m30s, threshold 25% toward normal")
    assert rules["request-volume-anomalous"][1].endswith(
        "baseline   watched 24h after P1/P2: for 2m30s, |robust z| > 2.625"
    )


def test_rules_list_shows_the_configured_watch_after_a_fix(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text(
        "sensitivity: {P1: 6h, P2: off, P3: 2h, for_factor: 0, threshold_fraction: 0.5}\n"
    )
    rules = listed(tmp_path)
    assert rules["cpu-high"][1].endswith(
        "watched after P1 6h, P3 2h: for 0s, threshold 50% toward normal"
    )
    (tmp_path / "vigil.yaml").write_text("sensitivity: off\n")
    assert listed(tmp_path)["cpu-high"][1].endswith("not watched (sensitivity: off)")


def test_a_bad_sensitivity_names_the_key(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text("sensitivity: {P2: soon}\n")
    for args in (("check",), ("rules", "list")):
        done = vigil(*args, cwd=tmp_path)
        assert done.returncode == 1, done.stdout
        assert "vigil.yaml: sensitivity.P2" in done.stderr, done.stderr


def test_a_configured_sla_turns_its_rule_on(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text("services:\n  payments:\n    latency_p95_sla_ms: 500\n")
    rules = listed(tmp_path)
    state, rest = rules["api-latency-p95-above-sla"]
    assert state == "ON"
    assert "needs" not in rest
    assert "(payments)" in rest
    assert rules["queue-depth-above-capacity"][0] == "OFF"
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "25 rules on, 7 off until configured" in done.stdout


def test_rules_dir_overrides_and_explicit_config(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x.yaml").write_text(
        "rules:\n  - {name: cpu-high, threshold: 0.9}\n  - {name: cache-hit-low, enabled: false}\n"
    )
    (tmp_path / "other.yaml").write_text("rules_dir: mine\n")
    rules = listed(tmp_path, "--config", "other.yaml")
    assert rules["cpu-high"][1].split()[:3] == ["cpu_utilization", ">", "90%"]
    assert rules["cache-hit-low"][0] == "OFF"
    assert "disabled" in rules["cache-hit-low"][1]
    done = vigil("check", "--config", "other.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "23 rules on, 8 off until configured, 1 disabled" in done.stdout


def test_check_fails_on_a_bad_rules_file_naming_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "rules.d").mkdir()
    (tmp_path / "rules.d" / "bad.yaml").write_text(
        "rules:\n  - {name: cpu-high, threshold: 0.9}\n  - {name: error-rate-high, for: soon}\n"
    )
    (tmp_path / "vigil.yaml").write_text("rules_dir: rules.d\n")
    for args in (("check",), ("rules", "list")):
        done = vigil(*args, cwd=tmp_path)
        assert done.returncode == 1, done.stdout
        assert done.stdout == ""
        assert "rules.d/bad.yaml" in done.stderr
        assert "rules[1].for" in done.stderr


def test_check_fails_when_rules_dir_is_missing(tmp_path: Path) -> None:
    (tmp_path / "vigil.yaml").write_text("rules_dir: nowhere\n")
    done = vigil("check", cwd=tmp_path)
    assert done.returncode == 1
    assert "vigil.yaml: rules_dir" in done.stderr
