"""Which incidents get charts, and the words around them. Pure: no I/O, no clock.

An incident gets evidence when one of its firing alerts is a model-quality signal (drift,
accuracy, confidence, data quality, importance) about a model; the wording is for the person
reading the timeline at 2 a.m.: what the chart shows first, the file last.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from bot.incidents.policy.signals import SubjectPolicy, signal_from_alert
from bot.incidents.views import AlertView, IncidentView

EVIDENCE = "evidence"
"""Timeline kind of an attached chart."""
DRIFT, ACCURACY, IMPORTANCE = "drift", "accuracy", "importance"
CHARTS = (DRIFT, ACCURACY, IMPORTANCE)
DRIFT_SIGNALS = frozenset({"psi", "output_drift", "data_quality"})
"""Signals about what the model sees or says: their incident gets the drift chart."""
NOTABLE_PSI = 0.1
"""Below this the top feature's PSI is noise: no drift chart unless a drift signal fires."""

QUALITY_SIGNALS = frozenset(
    {
        "psi",
        "output_drift",
        "accuracy",
        "accuracy_estimated",
        "confidence",
        "data_quality",
        "feature_importance",
    }
)
"""Classifier kinds (``signal`` label or a known alertname) that concern a model's quality."""
QUALITY_METRICS = frozenset(
    {
        "input_drift_psi",
        "output_drift_kl",
        "prediction_confidence_mean",
        "accuracy_estimated",
        "data_quality_score",
        "accuracy",
        "feature_importance_rank_corr",
    }
)
"""The monitor's metric names (``metric`` label, e.g. on a no-data alert for one of them)."""
_ACCURACY_KINDS = frozenset({"accuracy", "accuracy_estimated"})
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_EMPTY: Mapping[str, SubjectPolicy] = MappingProxyType({})


def _is_quality(alert: AlertView) -> bool:
    kind = signal_from_alert(alert.labels, alert.annotations, alert.value).kind
    return kind in QUALITY_SIGNALS or alert.labels.get("metric", "") in QUALITY_METRICS


def quality_model(view: IncidentView) -> str | None:
    """The model a firing model-quality alert of ``view`` is about, else None.

    The incident's own model first (it came from the alert that opened it); else the first
    quality alert's ``model`` label (an incident grouped by service can still carry one).
    """
    quality = [a for a in view.firing if _is_quality(a)]
    if not quality:
        return None
    if view.model:
        return view.model
    return next((a.labels["model"] for a in quality if a.labels.get("model")), None)


def firing_kinds(view: IncidentView) -> set[str]:
    """The kinds of the incident's firing model-quality alerts (``psi``, ``accuracy`` …)."""
    return {
        signal_from_alert(a.labels, a.annotations, a.value).kind
        for a in view.firing
        if _is_quality(a)
    }


def wanted(kinds: set[str]) -> set[str]:
    """The charts an incident's firing kinds (:func:`firing_kinds`) call for: accuracy
    over time always; the drift chart for drift or accuracy (drawn for accuracy only when
    the drift is notable: see :func:`draws_drift`); the importance chart for an importance
    shift. An importance shift once got the histogram of whatever feature drifted most,
    PSI 0.01: unrelated."""
    out = {ACCURACY}
    if kinds - {"feature_importance"}:
        out.add(DRIFT)
    if "feature_importance" in kinds:
        out.add(IMPORTANCE)
    return out


def draws_drift(kinds: set[str], top_psi: float) -> bool:
    """Draw the top feature's histogram: a drift signal fires, or the drift is notable."""
    return bool(kinds & DRIFT_SIGNALS) or top_psi >= NOTABLE_PSI


def importance_caption(model: str, tau: float, moves: str) -> str:
    """``fraud-scorer feature importance, training vs now (rank tau 0.40: amount 1 → 3)``."""
    why = f"rank tau {tau:.2f}" + (f": {moves}" if moves else "")
    return f"{model} feature importance, training vs now ({why})"


def attached(view: IncidentView) -> set[str]:
    """The charts already on the incident's timeline."""
    return {str(e.data.get("chart")) for e in view.timeline if e.kind == EVIDENCE}


def accuracy_sla(
    view: IncidentView, model: str, models: Mapping[str, SubjectPolicy] = _EMPTY
) -> float | None:
    """The accuracy SLA to draw: an accuracy alert's own threshold, else the model's policy.

    Alerts carry the threshold they crossed (the rules write it as an annotation), which is
    what the reader was told; the policy fills in for alerts that did not say. A value above
    1 is a percentage.
    """
    for alert in view.alerts:
        signal = signal_from_alert(alert.labels, alert.annotations, alert.value, models=models)
        if signal.kind in _ACCURACY_KINDS and signal.threshold is not None:
            return _fraction(signal.threshold)
    policy = models.get(model)
    if policy is not None and policy.accuracy_sla is not None:
        return _fraction(policy.accuracy_sla)
    return None


def _fraction(value: float) -> float:
    return value / 100 if value > 1 else value


def slug(name: str) -> str:
    """A file-name-safe form of a feature name: ``Income (USD)`` → ``income-usd``."""
    return _NOT_SLUG.sub("-", name.lower()).strip("-")[:60] or "feature"


def percent(value: float) -> str:
    """``81%``, ``80.5%``: whole percents unless the tenth matters."""
    tenths = round(value * 1000)
    return f"{tenths // 10}%" if tenths % 10 == 0 else f"{tenths / 10:.1f}%"


def drift_title(feature: str, window_text: str, psi: float) -> str:
    return f"{feature}: reference vs {window_text} (PSI {psi:.2f})"


def drift_caption(feature: str, window_text: str, psi: float) -> str:
    return f"{feature}, reference vs {window_text} (PSI {psi:.2f})"


def importance_title(model: str) -> str:
    return f"{model}: feature importance, training vs now"


def accuracy_title(model: str) -> str:
    return f"{model}: accuracy over time"


def accuracy_caption(
    model: str,
    estimated: Sequence[float | None],
    realized: Sequence[float | None],
    sla: float | None,
) -> str:
    """``credit accuracy over time (estimated 81%, realized 79%; SLA 85%)``: the latest of
    each figure the chart has, so the line says the news without opening the picture."""
    latest = [
        f"{name} {percent(known[-1])}"
        for name, series in (("estimated", estimated), ("realized", realized))
        if (known := [v for v in series if v is not None])
    ]
    figures = ", ".join(latest)
    if sla is not None:
        figures += ("; " if figures else "") + f"SLA {percent(sla)}"
    return f"{model} accuracy over time" + (f" ({figures})" if figures else "")


def entry_text(caption: str, path: str) -> str:
    """The timeline line: what the chart shows, then where the file is."""
    return f"Chart attached: {caption} — {path}"
