"""The ``inhibit_rules:`` section of vigil.yaml: defaults, and errors that name the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config.load import load_settings
from bot.core.errors import ConfigError
from bot.silences.config import parse_inhibit_rules
from bot.silences.inhibit import DEFAULT_RULES, InhibitRule
from bot.silences.matchers import parse_matchers


def test_left_out_the_default_rule_applies_and_an_empty_list_turns_it_off() -> None:
    assert parse_inhibit_rules(None, where="vigil.yaml") == DEFAULT_RULES
    assert [r.name for r in DEFAULT_RULES] == ["p1-mutes-symptoms"]
    assert parse_inhibit_rules([], where="vigil.yaml") == ()


def test_a_full_section_is_read() -> None:
    rules = parse_inhibit_rules(
        [
            {
                "name": "db-down",
                "source_matchers": ['alertname="DatabaseDown"'],
                "target_matchers": ['severity!~"critical|page"', "team=db"],
                "equal": ["cluster", "service"],
                "strict": False,
            },
            {"source_matchers": ["a=b"], "target_matchers": ["c=~d.*"]},
        ],
        where="vigil.yaml",
    )
    assert rules == (
        InhibitRule(
            "db-down",
            parse_matchers(['alertname="DatabaseDown"']),
            parse_matchers(['severity!~"critical|page"', 'team="db"']),
            ("cluster", "service"),
            strict=False,
        ),
        InhibitRule("inhibit_rules[1]", parse_matchers(["a=b"]), parse_matchers(['c=~"d.*"'])),
    )


def _rule(**over: Any) -> dict[str, Any]:
    return {"source_matchers": ["a=b"], "target_matchers": ["c=d"], **over}


@pytest.mark.parametrize(
    ("section", "key", "says"),
    [
        ({"a": 1}, "inhibit_rules", "must be a list of rules"),
        (["x"], "inhibit_rules[0]", "must be a mapping"),
        ([_rule(sources=[])], "inhibit_rules[0].sources", "unknown key (allowed: equal, name,"),
        ([{"target_matchers": ["c=d"]}], "inhibit_rules[0].source_matchers", "is required"),
        ([_rule(source_matchers="a=b")], "inhibit_rules[0].source_matchers", "must be a list"),
        ([_rule(target_matchers=[])], "inhibit_rules[0].target_matchers", "at least one"),
        (
            [_rule(), _rule(source_matchers=["a=b", 'x~"y"'])],
            "inhibit_rules[1].source_matchers[1]",
            "'x~\"y\"' is not a matcher",
        ),
        (
            [_rule(target_matchers=['c=~"(?=x)"'])],
            "inhibit_rules[0].target_matchers[0]",
            "lookahead",
        ),
        ([_rule(equal=["ok", "not-a-label"])], "inhibit_rules[0].equal[1]", "label name"),
        ([_rule(equal="service")], "inhibit_rules[0].equal", "must be a list"),
        ([_rule(strict="yes")], "inhibit_rules[0].strict", "must be true or false"),
        ([_rule(name="r"), _rule(name="r")], "inhibit_rules[1].name", "earlier rule"),
        ([_rule(name=" ")], "inhibit_rules[0].name", "must not be empty"),
    ],
)
def test_a_mistake_names_its_key(section: object, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_inhibit_rules(section, where="vigil.yaml")
    assert caught.value.key == key
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"vigil.yaml: {key}: ")


def test_the_loader_reads_the_section(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text("log_level: info\n")
    assert load_settings(path, {}).inhibit_rules == DEFAULT_RULES
    path.write_text("inhibit_rules:\n  - source_matchers: [a=b]\n    target_matchers: [c=d]\n")
    assert [r.name for r in load_settings(path, {}).inhibit_rules] == ["inhibit_rules[0]"]
    path.write_text("inhibit_rules:\n  - source_matchers: ['a~b']\n    target_matchers: [c=d]\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert str(caught.value).startswith(f"{path}: inhibit_rules[0].source_matchers[0]: ")
