"""Loading playbooks: the bundled ones load, and every mistake names file, step and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.errors import ConfigError
from bot.core.resources import bundled
from bot.playbooks.loader import (
    load_playbook,
    load_playbook_dirs,
    load_playbooks,
    parse_playbook,
)
from bot.runtime.checks import check_playbooks

WHERE = "playbooks/rollback.yaml"


def book(*steps: Any, **top: Any) -> dict[str, Any]:
    return {"name": "rollback", "steps": list(steps), **top}


NOTE = {"action": "incident.note", "params": {"text": "hi"}}


def test_the_bundled_playbooks_load_and_pass_vigil_check() -> None:
    books = load_playbooks(bundled("playbooks"))
    assert sorted(books) == ["containment", "retrain", "rollback"]
    assert [s.action for s in books["rollback"].steps] == [
        "incident.note",
        "registry.rollback",
        "incident.note",
    ]
    assert books["rollback"].inputs == {"model", "version", "incident"}
    assert books["retrain"].inputs == {"model", "incident", "retrain_url"}
    assert check_playbooks(bundled("playbooks")).total == 3


def test_defaults_timeout_60_s_stop_on_failure_and_name_from_action() -> None:
    parsed = parse_playbook(book(NOTE), where=WHERE, default_name="x")
    step = parsed.steps[0]
    assert (step.name, step.timeout_s, step.on_failure) == ("incident.note", 60.0, "stop")
    assert parsed.description == ""
    assert parse_playbook({"steps": [NOTE]}, where=WHERE, default_name="rollback").name == (
        "rollback"
    )


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        (book(NOTE, NOTE, {**NOTE, "timeout": "soon"}), "steps[2].timeout", "number of seconds"),
        (book({**NOTE, "timeout": 0}), "steps[0].timeout", "more than 0"),
        (book({**NOTE, "timeout": True}), "steps[0].timeout", "number of seconds"),
        (book(NOTE, {**NOTE, "on_failure": "retry"}), "steps[1].on_failure", "stop or continue"),
        (book(NOTE, {**NOTE, "retries": 3}), "steps[1].retries", "unknown key (allowed: action,"),
        (book({"action": "registry.nuke"}), "steps[0].action", "known actions: check.manual"),
        (book({"params": {}}), "steps[0].action", "missing; known actions"),
        (book({"action": "incident.note"}), "steps[0].params.text", "required by incident.note"),
        (
            book({"action": "incident.note", "params": {"text": "x", "colour": "red"}}),
            "steps[0].params.colour",
            "allowed: text",
        ),
        (
            book(NOTE, {"name": "b", "action": "incident.note", "params": {"text": "{{ model"}}),
            "steps[1].params.text",
            "bad placeholder",
        ),
        (
            book({"action": "incident.note", "params": {"text": "{{ previous.message }}"}}),
            "steps[0].params",
            "no earlier step",
        ),
        (book(NOTE, {**NOTE, "params": ["text"]}), "steps[1].params", "must be a mapping"),
        (book(NOTE, NOTE), "steps[1].name", "also used by steps[0]"),
        (book("incident.note"), "steps[0]", "must be a mapping"),
        (book(), "steps", "non-empty list"),
        (book(NOTE, owner="@alice"), "owner", "unknown key"),
        (book(NOTE, name="Roll Back"), "name", "lower-case"),
    ],
)
def test_each_mistake_names_file_step_and_field(data: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_playbook(data, where=WHERE, default_name="rollback")
    assert (err.value.where, err.value.key) == (WHERE, key)
    assert words in str(err.value)
    assert str(err.value).startswith(f"{WHERE}: {key}: ")


def test_yaml_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rollback.yaml"
    path.write_text("steps:\n  - action: incident.note\n    params: {text: [\n")
    with pytest.raises(ConfigError, match=r"rollback.yaml:\d+: not valid YAML"):
        load_playbook(path)


def test_two_files_with_one_playbook_name_are_refused(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(
            "name: same\nsteps:\n  - action: incident.note\n    params: {text: hi}\n"
        )
    with pytest.raises(ConfigError, match="also used by") as err:
        load_playbooks(tmp_path)
    assert err.value.where.endswith("b.yaml")


def test_your_directory_wins_by_name_and_the_bundled_ones_fill_the_gaps(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "name: rollback\nsteps:\n  - action: incident.note\n    params: {text: mine}\n"
    )
    books = load_playbook_dirs([tmp_path, bundled("playbooks")])
    assert sorted(books) == ["containment", "retrain", "rollback"]
    assert books["rollback"].source == str(tmp_path / "mine.yaml")
    assert books["containment"].source.startswith(str(bundled("playbooks")))


def test_a_broken_bundled_or_overridden_file_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "rollback.yaml").write_text("steps:\n  - action: nope\n")
    with pytest.raises(ConfigError, match=r"rollback.yaml: steps\[0\].action: unknown action"):
        load_playbook_dirs([bundled("playbooks"), tmp_path])


def test_a_missing_directory_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such directory of playbooks"):
        load_playbook_dirs([tmp_path / "nowhere", bundled("playbooks")])
