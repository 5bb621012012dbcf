"""The pydantic layer under vigil.yaml's sections: pydantic's errors read as Vigil's own,
naming the file and the key the way every other config message does."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BeforeValidator, Field, field_validator

from bot.config.model import ConfigModel, problem, validate_section
from bot.core.errors import ConfigError


def _port(value: object) -> object:
    if value == 0:
        raise ValueError("must be between 1 and 65535, got 0")
    return value


class _Leaf(ConfigModel):
    url: str
    port: Annotated[int, BeforeValidator(_port)] = 80


class _Section(ConfigModel):
    checks: list[_Leaf] = Field(default_factory=list)
    by_name: dict[str, _Leaf] = Field(default_factory=dict)
    leaf: _Leaf | None = None

    @field_validator("checks")
    @classmethod
    def _one_url_once(cls, checks: list[_Leaf]) -> list[_Leaf]:
        urls = [c.url for c in checks]
        for i, url in enumerate(urls):
            if url in urls[:i]:
                raise problem(f"{url!r} is checked twice", at=(i, "url"))
        return checks


def _error(value: object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        validate_section(_Section, value, where="vigil.yaml", key="sources")
    return caught.value


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            {"checks": [{"url": "a"}, {"url": "b", "prot": 1}]},
            "vigil.yaml: sources.checks[1].prot: unknown key (allowed: url, port)",
        ),
        (
            {"leaf": {"url": "a", "porty": 1}},
            "vigil.yaml: sources.leaf.porty: unknown key (allowed: url, port)",
        ),
        (
            {"by_name": {"x": {"url": "a", "portt": 1}}},
            "vigil.yaml: sources.by_name.x.portt: unknown key (allowed: url, port)",
        ),
        (
            {"chekcs": []},
            "vigil.yaml: sources.chekcs: unknown key (allowed: checks, by_name, leaf)",
        ),
        ({"checks": [{"port": 8080}]}, "vigil.yaml: sources.checks[0].url: is required"),
        (
            {"checks": [{"url": "a", "port": 0}]},
            "vigil.yaml: sources.checks[0].port: must be between 1 and 65535, got 0",
        ),
        (
            {"checks": [{"url": "a"}, {"url": "a"}]},
            "vigil.yaml: sources.checks[1].url: 'a' is checked twice",
        ),
        ([], "vigil.yaml: sources: must be a mapping"),
        ({"checks": {}}, "vigil.yaml: sources.checks: must be a list"),
        ({"leaf": "x"}, "vigil.yaml: sources.leaf: must be a mapping"),
        (
            {"checks": [{"url": "a", "port": "80"}]},
            "vigil.yaml: sources.checks[0].port: must be a whole number",
        ),
    ],
)
def test_errors_name_the_key_in_vigils_words(value: object, says: str) -> None:
    err = _error(value)
    assert str(err) == says
    assert err.where == "vigil.yaml"
    assert "Value error" not in str(err)
    assert "pydantic" not in str(err)


def test_an_unknown_key_is_reported_before_a_bad_value_beside_it() -> None:
    err = _error({"checks": [{"url": "a", "port": 0}], "leef": {}})
    assert err.key == "sources.leef"


def test_a_valid_section_is_frozen() -> None:
    section = validate_section(_Section, {"leaf": {"url": "a"}}, where="v", key="sources")
    assert section.leaf is not None
    assert section.leaf.port == 80
    with pytest.raises(ValueError, match="frozen"):
        section.leaf.port = 81


@pytest.mark.parametrize(
    ("value", "says"),
    [
        # YAML reads `5:` as a number and `on:` as true: the key is named as written.
        (
            {"leaf": {"url": "a", 5: 1}},
            "vigil.yaml: sources.leaf.5: unknown key (allowed: url, port)",
        ),
        ({True: {}}, "vigil.yaml: sources.True: unknown key (allowed: checks, by_name, leaf)"),
    ],
)
def test_a_key_yaml_reads_as_a_number_or_true_is_an_unknown_key(value: object, says: str) -> None:
    assert str(_error(value)) == says
