"""The contract of a post of labels: ``{"rows": [{"id", "label", "source"?}], "source"?}``.

``source`` says who gave the label (``human-review``, ``chargeback``, ``user-feedback``):
label health judges each source's agreement with the model apart, since one feedback loop
(a source that copies the predictions) hides in the average of honest ones. A row's own
source wins over the post's; neither given is ``unspecified``. A source is a short name,
checked as a version name is (``versions.check_version``'s rule, lower case folded), so a
typo cannot mint a new source per row without being seen. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.ingest.validate import child, fail, item, json_type, require_object
from bot.monitoring.panes.parts import PostedLabel
from bot.quality.labels.tally import DEFAULT_SOURCE
from bot.quality.profile import category_key

MAX_SOURCE = 64
_SOURCE = re.compile(r"[a-z0-9][a-z0-9._:-]*")
_RULE = f"at most {MAX_SOURCE} characters: letters, digits and . _ : -, a letter or digit first"


def check_source(value: object, path: str) -> str:
    """``value`` as a label source (folded to lower case), or ``ValidationError`` naming
    ``path``."""
    if not isinstance(value, str):
        raise fail(path, f"must be a string, not {json_type(value)}")
    folded = value.strip().lower()
    if len(folded) > MAX_SOURCE or not _SOURCE.fullmatch(folded):
        raise fail(path, f"must be a label source name ({_RULE}), got {value[:80]!r}")
    return folded


def posted_labels(body: Mapping[str, object], rows: Sequence[object]) -> list[PostedLabel]:
    """Every row as a :class:`PostedLabel`; one malformed row refuses the post (400 naming
    it), so a half-applied label feed never skews the realized accuracy."""
    raw_source = body.get("source")
    fallback = DEFAULT_SOURCE if raw_source is None else check_source(raw_source, "source")
    out: list[PostedLabel] = []
    for i, row in enumerate(rows):
        path = item("rows", i)
        obj = require_object(row, path)
        raw_id, raw_label = obj.get("id"), obj.get("label")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or raw_id == "":
            raise fail(child(path, "id"), "is required (a non-empty string or integer)")
        label = category_key(raw_label)
        if label is None:
            raise fail(child(path, "label"), "is required (the true class)")
        own = obj.get("source")
        source = fallback if own is None else check_source(own, child(path, "source"))
        out.append(PostedLabel(str(raw_id), label, source))
    return out
