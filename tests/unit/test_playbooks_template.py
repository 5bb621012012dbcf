"""Placeholders: filled from the run's inputs, typed when whole, strict when missing."""

from __future__ import annotations

import pytest

from bot.core.secret import Secret
from bot.playbooks.template import TemplateError, placeholders, render

INPUTS = {"model": "fraud-scorer", "version": None, "incident": 7}


def test_text_is_filled_and_a_whole_placeholder_keeps_its_type() -> None:
    params = {
        "text": "Rolling back {{ model }} for #{{ incident }}",
        "incident": "{{ incident }}",
        "to_version": "{{ version }}",
        "json": {"model": "{{model}}", "tags": ["{{ model }}-x", 3]},
        "expect": [202, 200],
    }
    assert render(params, INPUTS, "params") == {
        "text": "Rolling back fraud-scorer for #7",
        "incident": 7,
        "to_version": None,
        "json": {"model": "fraud-scorer", "tags": ["fraud-scorer-x", 3]},
        "expect": [202, 200],
    }


def test_none_renders_as_empty_inside_text() -> None:
    assert render("to '{{ version }}'", INPUTS, "text") == "to ''"


def test_a_missing_input_is_an_error_naming_the_field() -> None:
    with pytest.raises(TemplateError) as err:
        render({"json": {"url": "{{ retrain_url }}/x"}}, INPUTS, "params")
    assert err.value.field == "params.json.url"
    assert "retrain_url" in str(err.value)


def test_a_secret_stays_a_secret_whole_and_is_revealed_only_inside_text() -> None:
    token = Secret("s3cr3t")
    assert render("{{ token }}", {"token": token}, "h") is token
    assert render("Bearer {{ token }}", {"token": token}, "h") == "Bearer s3cr3t"


def test_inputs_are_values_never_templates() -> None:
    assert render("{{ model }}", {"model": "{{ 7 * 7 }}"}, "m") == "{{ 7 * 7 }}"
    assert render("x {{ model }}", {"model": "{{ 7 * 7 }}"}, "m") == "x {{ 7 * 7 }}"


def test_placeholders_lists_the_names_used() -> None:
    params = {"a": "{{ model }} {{ previous.message }}", "b": ["{{ incident }}"], "c": 1}
    assert placeholders(params, "params") == {"model", "previous", "incident"}
