"""Alert fingerprints and grouping keys, computed without I/O.

The fingerprint is Alertmanager's own (``model.LabelSet.Fingerprint``): 64-bit FNV-1a over
the label names in sorted order, each name and each value followed by a 0xFF byte, printed
as 16 hex digits. Computing it the same way means an alert that reaches us both through
Alertmanager and directly keeps one identity.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEPARATOR = b"\xff"

DEFAULT_GROUP_BY: tuple[str, ...] = ("incident_group|alertname", "service|model|heartbeat")
"""Alertmanager's habit (one incident per alert name and subject), except that alerts which
carry an ``incident_group`` label join by it instead of their name: the bundled model-quality
rules all say ``incident_group: model-quality``, so drift, the accuracy estimate and data
quality of one model are one incident, classified together (drift with low quality is P2),
not three P3s for one shift. An alert with an ``alertname`` and no ``incident_group`` keeps
the key it always had."""


def fingerprint(labels: Mapping[str, str]) -> str:
    """Return Alertmanager's fingerprint of a label set as 16 lowercase hex digits."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), _SEPARATOR, labels[name].encode(), _SEPARATOR):
            for byte in chunk:
                h ^= byte
                h = (h * _FNV_PRIME) & _MASK
    return f"{h:016x}"


def group_key(labels: Mapping[str, str], group_by: Sequence[str] = DEFAULT_GROUP_BY) -> str:
    """Return the key that decides which open incident an alert joins.

    Each entry of ``group_by`` is a label name, or alternatives separated by ``|`` of which
    the first present one is used (``service|model``: the service if labelled, else the
    model). Missing labels contribute an empty value, so the key is always defined. Values
    are quoted and escaped (``alertname="Drift",service="search"``, as Alertmanager writes
    group keys), so no two different label sets can produce the same key.
    """
    parts: list[str] = []
    for entry in group_by:
        names = [n.strip() for n in entry.split("|") if n.strip()]
        chosen = next((n for n in names if labels.get(n)), names[0] if names else entry)
        parts.append(f"{chosen}={json.dumps(labels.get(chosen, ''), ensure_ascii=False)}")
    return ",".join(parts)


def key_digest(key: str) -> str:
    """A fixed-length digest of a grouping key, for the unique "one open incident" index."""
    return hashlib.sha256(key.encode()).hexdigest()
