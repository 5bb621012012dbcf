"""Read ``rules/*.yaml`` strictly; every mistake names the file and the key to fix.

Files are read in order and later files override earlier ones *by rule name, key by key*:
``{name: error-rate-high, threshold: 0.02}`` in your file changes only that threshold, and
``{name: cache-hit-low, enabled: false}`` switches a default off, without copying the rule.
Each merged rule is validated as a whole, and an error names the file and the ``rules[i]``
entry that supplied the offending key (``ConfigError(where="rules/default.yaml",
key="rules[3].for")``), because a rule that silently never fires is the worst outcome.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from bot.config.checks import unknown_key
from bot.core.durations import parse_duration
from bot.core.errors import ConfigError
from bot.core.resources import bundled
from bot.core.yamlfile import read_yaml
from bot.rules.schema import (
    DEFAULT_ABSENT_AFTER,
    DEFAULT_FOR,
    DEFAULT_HYSTERESIS,
    KINDS,
    OPS,
    SCOPES,
    UNITS,
    BaselineSpec,
    Kind,
    Op,
    Rule,
)
from bot.rules.sequential import CHANGEPOINT, DETECTORS, MIN_ARL0, DetectSpec

# fmt: off
RULE_KEYS = frozenset({
    "name", "title", "metric", "kind", "op", "threshold", "threshold_from", "for",
    "resolve_hysteresis", "absent_after", "labels", "unit", "enabled", "baseline", "match",
    "group", "cleared", "detect", "arl0", "shift",
})
# fmt: on
BASELINE_KEYS = frozenset({"window", "min_samples"})
DEFAULT_K = 3.5
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_SETTING = re.compile(r"^[a-z_][a-z0-9_]*$")


def default_rules_file() -> Path:
    """The bundled ``rules/default.yaml`` (a checkout's top level, or inside the wheel)."""
    return bundled("rules") / "default.yaml"


@dataclass
class _Entry:
    """A rule's raw keys merged across files, remembering which file and entry gave each."""

    raw: dict[str, Any] = field(default_factory=dict)
    origin: dict[str, tuple[str, int]] = field(default_factory=dict)

    def err(self, key: str, message: str) -> ConfigError:
        where, index = self.origin.get(key, self.origin["name"])
        return ConfigError(message, where=where, key=f"rules[{index}].{key}")


def load_rules(paths: Sequence[Path | str]) -> list[Rule]:
    """Rules from the files in order, later ones overriding earlier ones by name."""
    return parse_rules([(str(p), read_yaml(p)) for p in paths])


def parse_rules(documents: Sequence[tuple[str, object]]) -> list[Rule]:
    """Validate already-decoded documents ``(where, data)``; the pure half of ``load_rules``."""
    entries: dict[str, _Entry] = {}
    for where, data in documents:
        seen_here: set[str] = set()
        for index, item in enumerate(_rule_items(where, data)):
            name = item.get("name")
            if not isinstance(name, str) or not _NAME.match(name):
                raise ConfigError(
                    f"rule name {name!r} must be lowercase letters, digits, - or _",
                    where=where,
                    key=f"rules[{index}].name",
                )
            if name in seen_here:
                raise ConfigError(
                    f"rule {name!r} appears twice in this file",
                    where=where,
                    key=f"rules[{index}].name",
                )
            seen_here.add(name)
            entry = entries.setdefault(name, _Entry())
            for key, value in item.items():
                if key == "labels" and isinstance(value, Mapping) and "labels" in entry.raw:
                    old = entry.raw["labels"]
                    value = {**old, **value} if isinstance(old, Mapping) else value
                entry.raw[key] = value
                entry.origin[key] = (where, index)
    return [_build(entry) for entry in entries.values()]


def _rule_items(where: str, data: object) -> list[dict[str, Any]]:
    if data is None:
        return []
    if not isinstance(data, Mapping):
        raise ConfigError("a rules file is a mapping with a `rules:` list", where=where)
    extra = sorted(set(map(str, data)) - {"rules"})
    if extra:
        raise ConfigError(unknown_key(["rules"]), where=where, key=extra[0])
    items = data.get("rules") or []
    if not isinstance(items, list):
        raise ConfigError("must be a list of rules", where=where, key="rules")
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError("each rule is a mapping", where=where, key=f"rules[{index}]")
        unknown = sorted(set(map(str, item)) - RULE_KEYS)
        if unknown:
            raise ConfigError(
                unknown_key(sorted(RULE_KEYS)),
                where=where,
                key=f"rules[{index}].{unknown[0]}",
            )
    return [dict(cast(Mapping[str, Any], i)) for i in items]


def _build(e: _Entry) -> Rule:
    raw = e.raw
    kind = raw.get("kind", "threshold")
    if kind not in KINDS:
        raise e.err("kind", f"{kind!r} is not one of {', '.join(sorted(KINDS))}")
    metric = raw.get("metric")
    if metric is None:
        raise e.err("metric", f"missing (and no earlier rule named {raw['name']!r} to override)")
    if not isinstance(metric, str) or not _METRIC.match(metric):
        raise e.err("metric", f"{metric!r} is not a metric name (letters, digits, _ and :)")
    op = raw.get("op", ">" if kind != "threshold" else None)
    if op not in OPS:
        raise e.err("op", f"{op!r} is not one of {', '.join(OPS)}")
    if kind == "baseline" and op != ">":
        raise e.err("op", "a baseline rule compares |robust z| with k: op must be '>'")
    threshold = _number(e, "threshold", DEFAULT_K if kind == "baseline" else None)
    threshold_from = _threshold_from(e)
    if kind == "threshold" and threshold is None and threshold_from is None:
        raise e.err("threshold", "a threshold rule needs `threshold` or `threshold_from`")
    hysteresis = _number(e, "resolve_hysteresis", DEFAULT_HYSTERESIS)
    if hysteresis is None or not 0 <= hysteresis < 1:
        raise e.err(
            "resolve_hysteresis", "must be a fraction, 0 <= h < 1 (of the room past the threshold)"
        )
    unit = raw.get("unit", "count")
    if unit not in UNITS:
        raise e.err("unit", f"{unit!r} is not one of {', '.join(sorted(UNITS))}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise e.err("enabled", "must be true or false")
    title = raw.get("title", metric.replace("_", " "))
    if not isinstance(title, str):
        raise e.err("title", "must be text")
    cleared = raw.get("cleared", "")
    if not isinstance(cleared, str):
        raise e.err("cleared", "must be text")
    absent_after = _duration(e, "absent_after", DEFAULT_ABSENT_AFTER)
    if absent_after.total_seconds() <= 0:
        raise e.err("absent_after", "must be longer than 0s")
    return Rule(
        name=raw["name"],
        metric=metric,
        op=cast(Op, op),
        threshold=threshold,
        threshold_from=threshold_from,
        for_=_duration(e, "for", DEFAULT_FOR),
        resolve_hysteresis=hysteresis,
        labels=_labels(e),
        kind=cast(Kind, kind),
        absent_after=absent_after,
        title=title,
        cleared=cleared,
        unit=unit,
        enabled=enabled,
        baseline=_baseline(e, kind),
        match=_match(e),
        group=_group(e),
        detect=_detect(e, kind),
        source=e.origin["metric"][0],
        origins=MappingProxyType({k: where for k, (where, _) in e.origin.items()}),
    )


def _number(e: _Entry, key: str, default: float | None) -> float | None:
    value = e.raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise e.err(key, f"{value!r} is not a finite number")
    return float(value)


def _threshold_from(e: _Entry) -> str | None:
    value = e.raw.get("threshold_from")
    if value is None:
        return None
    scope, _, key = str(value).partition(".")
    if not isinstance(value, str) or scope not in SCOPES or not _SETTING.match(key):
        raise e.err(
            "threshold_from",
            f"{value!r} must be model.<setting>, service.<setting> or heartbeat.<setting>",
        )
    return value


def _duration(e: _Entry, key: str, default: Any) -> Any:
    if key not in e.raw:
        return default
    try:
        return parse_duration(e.raw[key])
    except ValueError as exc:
        raise e.err(key, str(exc)) from exc


def _labels(e: _Entry) -> Mapping[str, str]:
    labels = e.raw.get("labels")
    if not isinstance(labels, Mapping):
        raise e.err("labels", "a mapping with at least `alertname` and `signal`")
    for name, value in labels.items():
        if not isinstance(name, str) or not _LABEL.match(name):
            raise e.err("labels", f"{name!r} is not a label name")
        if not isinstance(value, str) or not value:
            raise e.err("labels", f"label {name} must be non-empty text")
    for needed in ("alertname", "signal"):
        if needed not in labels:
            raise e.err("labels", f"missing `{needed}`")
    return MappingProxyType(dict(labels))


def _match(e: _Entry) -> Mapping[str, str]:
    match = e.raw.get("match", {})
    if not isinstance(match, Mapping):
        raise e.err("match", "a mapping of label name to the value a series must have")
    for name, value in match.items():
        if not isinstance(name, str) or not _LABEL.match(name):
            raise e.err("match", f"{name!r} is not a label name")
        if not isinstance(value, str) or not value:
            raise e.err("match", f"label {name} must be non-empty text (quote numbers)")
    return MappingProxyType(dict(match))


def _group(e: _Entry) -> str:
    group = e.raw.get("group", "default")
    if not isinstance(group, str) or not _NAME.match(group):
        raise e.err("group", f"{group!r} must be lowercase letters, digits, - or _")
    return group


def _baseline(e: _Entry, kind: str) -> BaselineSpec | None:
    spec = e.raw.get("baseline")
    if kind != "baseline":
        if spec is not None:
            raise e.err("baseline", "only a rule of kind baseline takes `baseline`")
        return None
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping) or set(spec) - BASELINE_KEYS:
        raise e.err("baseline", f"a mapping of {', '.join(sorted(BASELINE_KEYS))}")
    window = BaselineSpec().window
    if "window" in spec:
        try:
            window = parse_duration(spec["window"])
        except ValueError as exc:
            raise e.err("baseline", f"window: {exc}") from exc
    min_samples = spec.get("min_samples", BaselineSpec().min_samples)
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 3:
        raise e.err("baseline", "min_samples must be a whole number >= 3")
    return BaselineSpec(window=window, min_samples=min_samples)


def _detect(e: _Entry, kind: str) -> DetectSpec | None:
    """``detect: cusum`` with its optional ``arl0`` (rows) and ``shift`` (reference sds),
    ``detect: changepoint`` (the change point the source found, on its notes); ``detect:
    none`` switches an earlier file's detector off (back to ``for``)."""
    method = e.raw.get("detect")
    if method is None or method == "none":
        for key in ("arl0", "shift"):
            if key in e.raw:
                raise e.err(key, "only a rule with `detect: cusum` takes it")
        return None
    if method not in DETECTORS:
        raise e.err("detect", f"{method!r} is not one of {', '.join(sorted(DETECTORS))} or none")
    if kind != "threshold":
        raise e.err("detect", f"only a threshold rule takes it (this one is kind {kind})")
    if method == CHANGEPOINT:  # the source's test sets its own rate: nothing to tune here
        for key in ("arl0", "shift"):
            if key in e.raw:
                raise e.err(key, "only a rule with `detect: cusum` takes it")
        return DetectSpec(method)
    arl0 = e.raw.get("arl0", DetectSpec().arl0)
    if isinstance(arl0, bool) or not isinstance(arl0, int) or arl0 < MIN_ARL0:
        raise e.err("arl0", f"{arl0!r} must be a whole number of rows >= {MIN_ARL0}")
    shift = _number(e, "shift", None)
    if shift is not None and shift <= 0:
        raise e.err("shift", f"{shift!r} must be above 0 (reference standard deviations)")
    return DetectSpec(method, arl0, shift)
