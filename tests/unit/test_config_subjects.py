"""``models:`` and ``services:``: per-subject settings, and mistakes that name their key."""

from __future__ import annotations

import pytest

from bot.core.errors import ConfigError
from bot.incidents.subjects import parse_subjects


def test_an_accuracy_sla_in_percent_is_stored_as_a_fraction() -> None:
    models = parse_subjects({"fraud": {"critical": True, "accuracy_sla": 90}}, "v", "models")
    assert (models["fraud"].critical, models["fraud"].accuracy_sla) == (True, 0.9)
    assert parse_subjects({"ranker": None}, "v", "models")["ranker"].critical is False


@pytest.mark.parametrize(
    ("key", "section", "says"),
    [
        ("models", [], "models: must be a mapping"),
        ("models", {"fraud": "x"}, "models.fraud: must be a mapping"),
        ("models", {"fraud": {"critical": "yes"}}, "models.fraud.critical: must be true or false"),
        (
            "models",
            {"fraud": {"confidence_floor": 1.5}},
            "models.fraud.confidence_floor: must be between 0 and 1, got 1.5",
        ),
        (
            "services",
            {"features": {"capacity_rps": 0}},
            "services.features.capacity_rps: must be greater than 0, got 0",
        ),
        (
            "services",
            {"features": {"confidence_floor": 0.5}},
            "services.features.confidence_floor: unknown key (allowed: critical, accuracy_sla, "
            "latency_p95_sla_ms, queue_capacity, capacity_rps)",
        ),
    ],
)
def test_mistakes_name_their_key(key: str, section: object, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_subjects(section, "vigil.yaml", key)
    assert str(caught.value) == f"vigil.yaml: {says}"
