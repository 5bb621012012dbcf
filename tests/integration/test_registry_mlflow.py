"""The MLflow registry adapter against a real ``mlflow server``: ``/rollback`` moves the
``champion`` alias back and tags the version, a move made outside Vigil makes Vigil refuse
saying who and what (changing nothing), and Vigil's record of moves outlives the process.

One server per module (it takes several seconds to start); each test uses its own model.
Vigil's side runs on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.registry.base import RegistryError
from bot.registry.settings import MlflowSettings, RegistrySettings
from bot.runtime.app import Vigil
from tests.conftest import MakeVigil
from tests.integration.mlflow_server import Colleague, mlflow_server
from tests.integration.procs import vigil_model
from tests.support import FakeClock

_names = itertools.count(1)


@pytest.fixture(scope="module")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as url:
        yield url


@pytest.fixture
def colleague(mlflow_url: str) -> Colleague:
    return Colleague(mlflow_url)


@pytest.fixture
def model() -> str:
    return f"fraud-scorer-{next(_names)}"


def on_mlflow(url: str) -> RegistrySettings:
    return RegistrySettings(kind="mlflow", mlflow=MlflowSettings(url))


async def open_incident(vigil: Vigil, model: str) -> int:
    reply = await vigil.commands.run_incident(
        f'new "Accuracy below SLA on {model}" --sev P1 --model {model}', actor="@vigil"
    )
    assert reply.incident is not None, reply.text
    return reply.incident.id


async def test_rollback_moves_the_champion_back_to_the_previous_one_and_tags_it(
    make_vigil: MakeVigil, mlflow_url: str, colleague: Colleague, model: str, clock: FakeClock
) -> None:
    await colleague.model_with_versions(model, 3)
    vigil = await make_vigil(registry=on_mlflow(mlflow_url))
    await vigil.registry.promote(model, "1", actor="@ops")
    clock.advance(minutes=5)
    await vigil.registry.promote(model, "2", actor="@ops")
    await vigil.registry.set_canary(model, "3", 10, actor="@ops")
    assert await colleague.aliases(model) == {"champion": "2", "challenger": "3"}
    incident = await open_incident(vigil, model)

    clock.advance(minutes=5)
    reply = await vigil.commands.run_rollback(f"{model} --incident {incident}", actor="@alice")

    assert "rolled back: 2 → 1 (last known good)" in reply.text, reply.text
    assert await colleague.aliases(model) == {"champion": "1"}  # the canary is paused too
    tags = await colleague.tags(model, "1")
    assert tags["vigil.previous_version"] == "2"
    assert tags["vigil.incident"] == str(incident)
    assert tags["vigil.actor"] == "@alice"
    assert (await vigil.registry.stable(model)).version == "1"  # type: ignore[union-attr]
    kinds = [(e.version, e.kind) for e in await vigil.registry.history(model)]
    assert kinds[-2:] == [("3", "paused"), ("1", "rollback")]


async def test_a_move_made_outside_vigil_is_refused_naming_who_and_what(
    make_vigil: MakeVigil, mlflow_url: str, colleague: Colleague, model: str, clock: FakeClock
) -> None:
    await colleague.model_with_versions(model, 3)
    vigil = await make_vigil(registry=on_mlflow(mlflow_url))
    await vigil.registry.promote(model, "1", actor="@ops")
    clock.advance(minutes=5)
    await vigil.registry.promote(model, "2", actor="@ops")
    # Bob moves the champion by hand (another tool that tags what it moves).
    await colleague.set_alias(model, "champion", "3")
    await colleague.tag(model, "3", "vigil.actor", "bob")
    before = await vigil.registry.history(model)

    reply = await vigil.commands.run_rollback(model, actor="@alice")

    assert "did not happen" in reply.text, reply.text
    assert "the champion alias of" in reply.text, reply.text
    assert "points at version 3" in reply.text, reply.text
    assert "not version 2 as Vigil last left it" in reply.text, reply.text
    assert "vigil.actor=bob" in reply.text, reply.text
    assert (await colleague.aliases(model))["champion"] == "3"  # nothing was changed
    assert await vigil.registry.history(model) == before
    with pytest.raises(RegistryError, match="someone moved it to version 3 outside this Vigil"):
        await vigil.registry.promote(model, "1", actor="@ops")
    assert (await colleague.aliases(model))["champion"] == "3"


async def test_the_record_of_moves_outlives_the_process_and_rollback_reads_it(
    make_vigil: MakeVigil,
    mlflow_url: str,
    colleague: Colleague,
    model: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    await colleague.model_with_versions(model, 2)
    (tmp_path / "vigil.yaml").write_text(
        f"registry:\n  kind: mlflow\n  mlflow:\n    tracking_uri: {mlflow_url}\n"
    )
    for version in ("1", "2"):
        done = vigil_model(database_url, "promote", model, version, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    history = vigil_model(database_url, "history", model, cwd=tmp_path)
    assert history.returncode == 0, history.stderr
    assert "1  promoted  by cli:alice" in history.stdout, history.stdout
    assert "2  promoted  by cli:alice: 2 promoted to stable, replacing 1" in history.stdout
    # MLflow itself remembers only where the alias is now.
    assert await colleague.aliases(model) == {"champion": "2"}

    vigil = await make_vigil(registry=on_mlflow(mlflow_url))  # a fresh process's view
    reply = await vigil.commands.run_rollback(model, actor="@alice")

    assert "rolled back: 2 → 1" in reply.text, reply.text
    assert await colleague.aliases(model) == {"champion": "1"}
    listed = vigil_model(database_url, "list", model, cwd=tmp_path)
    assert "  1 · stable at 100 %" in listed.stdout, listed.stdout


async def test_a_champion_set_before_vigil_is_where_the_record_starts(
    make_vigil: MakeVigil, mlflow_url: str, colleague: Colleague, model: str
) -> None:
    await colleague.model_with_versions(model, 2)
    await colleague.set_alias(model, "champion", "1")  # serving before Vigil was configured
    vigil = await make_vigil(registry=on_mlflow(mlflow_url))
    assert (await vigil.registry.stable(model)).version == "1"  # type: ignore[union-attr]

    await vigil.registry.promote(model, "2", actor="@ops")
    result = await vigil.registry.rollback(model, actor="@ops")

    assert (result.from_version, result.to_version) == ("2", "1")
    assert await colleague.aliases(model) == {"champion": "1"}
    kinds = [(e.version, e.kind) for e in await vigil.registry.history(model)]
    assert kinds == [("1", "promoted"), ("2", "promoted"), ("1", "rollback")]


async def test_a_version_mlflow_does_not_have_is_refused_with_the_way_forward(
    make_vigil: MakeVigil, mlflow_url: str, colleague: Colleague, model: str
) -> None:
    await colleague.model_with_versions(model, 1)
    vigil = await make_vigil(registry=on_mlflow(mlflow_url))
    with pytest.raises(RegistryError, match="MLflow numbers versions itself"):
        await vigil.registry.register(model, "7", stage="stable", actor="@ops")
    info = await vigil.registry.register(model, "1", stage="stable", actor="@ops")
    assert info.stage == "stable"
    assert await colleague.aliases(model) == {"champion": "1"}
