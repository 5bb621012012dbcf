"""Alert identity and grouping: Alertmanager's own fingerprint, and the key alerts group by.

The expected fingerprints are Alertmanager's: the captured webhook's own ``fingerprint``
field, and the values in prometheus/common's ``model`` tests (``TestMetric``,
``TestLabelsToSignature``), which are what ``LabelSet.Fingerprint`` returns in Go.
"""

from __future__ import annotations

import itertools
import random

import pytest

from bot.incidents.intake.fingerprint import DEFAULT_GROUP_BY, fingerprint, group_key
from tests.support import fixture_json

CAPTURED_LABELS = {
    "alertname": "HighErrorRate",
    "env": "test",
    "service": "payments",
    "severity": "critical",
}


def test_captured_alertmanager_alert_keeps_its_fingerprint() -> None:
    alert = fixture_json("alertmanager-v4-firing.json")["alerts"][0]
    assert alert["labels"] == CAPTURED_LABELS
    assert fingerprint(alert["labels"]) == alert["fingerprint"] == "420abf6469f5137f"


def test_empty_label_set_is_the_fnv_offset_basis() -> None:
    assert fingerprint({}) == "cbf29ce484222325"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"name": "garland, briggs", "fear": "love is not enough"}, 5799056148416392346),
        (
            {"first_name": "electro", "occupation": "robot", "manufacturer": "westinghouse"},
            5911716720268894962,
        ),
        ({"x": "y"}, 8241431561484471700),
        ({"first-label": "first-label-value"}, 5146282821936882169),
        (
            {"first-label": "first-label-value", "second-label": "second-label-value"},
            3195800080984914717,
        ),
        # The 0xFF separator keeps these two apart although their bytes concatenate alike.
        ({"a": "bb", "b": "c"}, 3016285359649981711),
        ({"a": "b", "bb": "c"}, 7122421792099404749),
    ],
)
def test_fingerprint_matches_prometheus_common(labels: dict[str, str], expected: int) -> None:
    assert fingerprint(labels) == f"{expected:016x}"


def test_label_order_does_not_matter() -> None:
    items = list(CAPTURED_LABELS.items())
    seen = {fingerprint(dict(order)) for order in itertools.permutations(items)}
    assert seen == {"420abf6469f5137f"}


def test_any_change_of_name_or_value_changes_the_fingerprint() -> None:
    base = fingerprint(CAPTURED_LABELS)
    assert fingerprint({**CAPTURED_LABELS, "service": "payment"}) != base
    assert fingerprint({**CAPTURED_LABELS, "instance": ""}) != base  # an empty value counts
    renamed = {("svc" if k == "service" else k): v for k, v in CAPTURED_LABELS.items()}
    assert fingerprint(renamed) != base


def test_fingerprint_is_sixteen_lowercase_hex_digits_for_any_labels() -> None:
    rng = random.Random(20261124)
    alphabet = "abcXYZ_09 ,=|éü🔥\n\x00"
    for _ in range(200):
        labels = {
            "".join(rng.choices(alphabet, k=rng.randint(1, 8))): "".join(
                rng.choices(alphabet, k=rng.randint(0, 12))
            )
            for _ in range(rng.randint(0, 5))
        }
        fp = fingerprint(labels)
        assert len(fp) == 16
        assert set(fp) <= set("0123456789abcdef")


def test_values_are_hashed_as_utf8() -> None:
    # FNV-1a over b"k" 0xFF b"\xc3\xbc" 0xFF, computed by hand in the test's own loop.
    h = 0xCBF29CE484222325
    for byte in b"k\xff\xc3\xbc\xff":
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    assert fingerprint({"k": "ü"}) == f"{h:016x}"


# group_key


def test_default_group_by_is_alertname_and_service_or_model() -> None:
    # heartbeat last: two late jobs open two incidents; existing keys are unchanged
    assert DEFAULT_GROUP_BY == ("incident_group|alertname", "service|model|heartbeat")


def test_an_incident_group_label_joins_alerts_of_one_subject_across_names() -> None:
    drift = {"alertname": "InputDrift", "model": "fraud", "incident_group": "model-quality"}
    estimate = {**drift, "alertname": "ModelAccuracyEstimatedBelowSLA"}
    other_model = {**drift, "model": "ranker"}
    assert group_key(drift) == group_key(estimate) == 'incident_group="model-quality",model="fraud"'
    assert group_key(other_model) != group_key(drift)


@pytest.mark.parametrize(
    ("labels", "key"),
    [
        (CAPTURED_LABELS, 'alertname="HighErrorRate",service="payments"'),
        ({"alertname": "Drift", "model": "ranker-v3"}, 'alertname="Drift",model="ranker-v3"'),
        # service wins when both are there
        (
            {"alertname": "Drift", "service": "search", "model": "ranker-v3"},
            'alertname="Drift",service="search"',
        ),
        # an empty service is no service: the model decides
        (
            {"alertname": "Drift", "service": "", "model": "ranker-v3"},
            'alertname="Drift",model="ranker-v3"',
        ),
        # neither: the first alternative with an empty value, so the key is still defined
        ({"alertname": "Drift"}, 'alertname="Drift",service=""'),
        ({}, 'incident_group="",service=""'),
    ],
)
def test_group_key_with_default_group_by(labels: dict[str, str], key: str) -> None:
    assert group_key(labels) == key


def test_labels_outside_group_by_do_not_split_a_group() -> None:
    a = {"alertname": "HighErrorRate", "service": "payments", "instance": "pod-a"}
    b = {"alertname": "HighErrorRate", "service": "payments", "instance": "pod-b", "x": "y"}
    assert fingerprint(a) != fingerprint(b)
    assert group_key(a) == group_key(b)


def test_different_alertnames_or_subjects_are_different_groups() -> None:
    keys = {
        group_key({"alertname": "HighErrorRate", "service": "payments"}),
        group_key({"alertname": "HighLatency", "service": "payments"}),
        group_key({"alertname": "HighErrorRate", "service": "search"}),
        group_key({"alertname": "HighErrorRate", "model": "payments"}),
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    ("group_by", "key"),
    [
        (("cluster", "alertname"), 'cluster="eu-1",alertname="GPUOOM"'),
        (("alertname",), 'alertname="GPUOOM"'),
        (("model|service",), 'model="llama-70b"'),
        ((" team | model ",), 'model="llama-70b"'),  # spaces around names are ignored
        (("team|owner|model",), 'model="llama-70b"'),  # more than two alternatives
        (("team|owner",), 'team=""'),  # none present: the first, empty
        (("gpu",), 'gpu=""'),
    ],
)
def test_group_key_with_custom_group_by(group_by: tuple[str, ...], key: str) -> None:
    labels = {"alertname": "GPUOOM", "cluster": "eu-1", "model": "llama-70b", "service": "chat"}
    assert group_key(labels, group_by) == key


def test_distinct_group_label_values_never_share_a_key() -> None:
    a = {"alertname": "Drift,service=search", "service": ""}
    b = {"alertname": "Drift", "service": "search,service="}
    assert group_key(a, ("alertname", "service")) != group_key(b, ("alertname", "service"))
