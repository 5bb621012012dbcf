"""``vigil model profile MODEL FILE`` as a real process: what an engineer reads about a batch.

A reference is stored from one file, then a drifted batch (one feature shifted, an unseen
city) is judged: the first line says it is bad and names the drifted feature; ``--json``
gives the same figures to a script; a batch like the reference reads OK.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tests.integration.procs import vigil_model
from tests.profiling_data import write_files

M = "fraud-scorer"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"


def test_a_drifted_batch_reads_bad_and_names_the_feature(db: str, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    stored = vigil_model(db, "reference", M, str(files["ref.parquet"]), cwd=tmp_path)
    assert stored.returncode == 0, stored.stderr
    assert "profiled on duckdb" in stored.stdout
    done = vigil_model(db, "profile", M, str(files["prod.csv"]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, *rest = done.stdout.splitlines()
    assert first.startswith("BAD: "), done.stdout
    assert "amount PSI" in first
    text = "\n".join(rest)
    assert "3,000 rows of" in text
    assert "estimated accuracy (no labels)" in text
    assert "data quality" in text
    assert "amount:" in text
    assert "DRIFT" in text
    as_json = vigil_model(db, "profile", M, str(files["prod.parquet"]), "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    figures = json.loads(as_json.stdout)
    assert figures["status"] == "bad"
    assert figures["rows"] == 3000
    drifted = {d["feature"] for d in figures["drift"] if d["psi"] > 0.2}
    assert drifted == {"amount", "city"}
    assert figures["engine"] == "duckdb"


def test_a_batch_like_the_reference_reads_ok(db: str, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    assert vigil_model(db, "reference", M, str(files["ref.csv"]), cwd=tmp_path).returncode == 0
    done = vigil_model(db, "profile", M, str(files["ref.csv"]), "--engine", "memory", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: no drift over 3,000 rows"), done.stdout


def test_no_reference_is_one_line_saying_how_to_store_one(db: str, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    done = vigil_model(db, "profile", M, str(files["prod.csv"]), cwd=tmp_path)
    assert done.returncode == 1
    assert f"vigil model reference {M} FILE" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_readme_profile_commands_run_as_written(db: str, tmp_path: Path) -> None:
    files = write_files(tmp_path)
    files["prod.parquet"].rename(tmp_path / "last-night.parquet")
    assert vigil_model(db, "reference", M, str(files["ref.parquet"]), cwd=tmp_path).returncode == 0
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "model profile" in b]
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    assert len(lines) == 2
    for line in lines:
        words = shlex.split(line, comments=True)
        assert words[:3] == ["vigil", "model", "profile"], line
        done = vigil_model(db, *words[2:], cwd=tmp_path)
        assert done.returncode == 0, (line, done.stderr)
        assert done.stdout.startswith("BAD: ") or '"status": "bad"' in done.stdout, done.stdout
