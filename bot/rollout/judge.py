"""The canary judge: a new version against the stable one, on every metric there is data for.

Metrics: accuracy (from labels once both versions have ``min_labels``, else the label-free
estimate), request errors, latency (a shift with a tolerance, the p99 tail, the spread) and
the prediction distribution. Each test is always valid (:mod:`bot.rollout.sequential`), so
the driver may call :func:`judge` every interval on the cumulative counts (since the
comparison began, across steps) without raising the wrong verdicts. Each metric is tested
both ways: FAIL when the canary is proven worse than its allowance, PASS only when it is
proven *within* it (non-inferiority), so "as good or better, within the allowance" is shown,
not assumed from a point estimate on a few rows. ``alpha`` bounds both errors over every look
(how it is split: :class:`JudgeSettings`). Below the minimum sample a metric is
INCONCLUSIVE, never FAIL nor PASS.

Overall: any FAIL is FAIL (roll back); else any MARGINAL is MARGINAL (hold: something looks
worse than allowed, not proven); else any INCONCLUSIVE is INCONCLUSIVE (hold, keep looking:
"no values yet" or "not proven yet" is not a failure); else PASS (every metric proven within
its allowance: step up). The driver steps up on PASS only. The score, like Kayenta's, is the
share of the judged metrics that pass (PASS 100, MARGINAL 50, FAIL 0, INCONCLUSIVE left
out), ``None`` until one is judged.
"""

from __future__ import annotations

import numpy as np

from bot.rollout import wording as w
from bot.rollout.evidence import (
    Evidence,
    estimate_gap,
    labelled_accuracy,
    latency_shift,
    latency_spread,
    latency_tail,
    prediction_drift,
    request_errors,
    verdict_of,
    verdicts,
)
from bot.rollout.observations import (
    ArmObservations,
    Judgement,
    JudgeSettings,
    MetricResult,
    Verdict,
    latency_counts,
)

_SCORES = {Verdict.PASS: 100, Verdict.MARGINAL: 50, Verdict.FAIL: 0}


def judge(
    stable: ArmObservations,
    canary: ArmObservations,
    settings: JudgeSettings | None = None,
    *,
    share: float | None = None,
) -> Judgement:
    """Judge ``canary`` against ``stable`` on what both have; see the module docstring.
    ``share``: the canary's traffic now (0.05), only for the words ("hold at 5 %")."""
    s = settings or JudgeSettings()
    at = w.where(share)
    metrics = [
        *_accuracy(stable, canary, s, at),
        *_errors(stable, canary, s, at),
        *_latency(stable, canary, s, at),
        *_drift(stable, canary, s, at),
    ]
    verdict = w.verdict_order([m.verdict for m in metrics])
    judged = [_SCORES[m.verdict] for m in metrics if m.verdict in _SCORES]
    score = round(sum(judged) / len(judged)) if judged else None
    waiting = all(m.p_value is None for m in metrics)
    names = (stable.version, canary.version)
    text = w.summary(verdict, score, names, len(metrics), at, waiting, len(judged))
    return Judgement(verdict, score, text, tuple(metrics))


def _case(e: Evidence, s: JudgeSettings, canary: str, at: str, pass_level: float) -> w.Case:
    verdict = verdict_of(int(verdicts(e)))
    return w.Case(verdict, canary, float(e.p_value), s.test_alpha, float(e.pass_p), pass_level, at)


def _result(name: str, e: Evidence, case: w.Case, reason: str) -> MetricResult:
    judged = bool(e.judged)
    p = float(e.p_value) if judged else None
    q = float(e.pass_p) if judged and not np.isnan(e.pass_p) else None
    return MetricResult(name, case.verdict, reason, float(e.stable), float(e.canary), p, q)


def _accuracy(
    st: ArmObservations, ca: ArmObservations, s: JudgeSettings, at: str
) -> list[MetricResult]:
    labelled = min(st.labelled, ca.labelled) >= s.min_labels
    if not labelled and st.estimate is not None and ca.estimate is not None:
        es, ec = st.estimate, ca.estimate
        e = estimate_gap(es.value, es.std_error, es.n, ec.value, ec.std_error, ec.n, s)
        case = _case(e, s, ca.version, at, s.estimate_pass_alpha)
        head = f"estimated accuracy (no labels yet) {ec.value:.2f} vs {es.value:.2f}"
        if not bool(e.judged):
            low, who = (ec.n, ca.version) if ec.n <= es.n else (es.n, st.version)
            reason = f"{head}: " + w.action(case, w.wait_rows(low, s.min_rows, "rows", who))
        else:
            body = w.worse(float(e.effect), s.accuracy_allowance, case, "worse", "better")
            reason = f"{head} over {ec.n:,} canary rows: {body} {w.action(case, '')}"
        return [_result("estimated accuracy", e, case, reason)]
    if st.labelled == 0 and ca.labelled == 0:
        return []
    e = labelled_accuracy(
        st.labelled - st.correct, st.labelled, ca.labelled - ca.correct, ca.labelled, s
    )
    case = _case(e, s, ca.version, at, s.labels_pass_alpha)
    acc_s, acc_c = 1 - float(e.stable), 1 - float(e.canary)
    if not bool(e.judged):
        low, who = (
            (ca.labelled, ca.version) if ca.labelled <= st.labelled else (st.labelled, st.version)
        )
        wait = w.wait_rows(low, s.min_labels, "labelled rows", who) + "; wait for labels"
        reason = "accuracy: " + w.action(case, wait)
    else:
        body = w.worse(float(e.effect), s.accuracy_allowance, case, "worse", "better")
        reason = (
            f"accuracy {acc_c:.2f} vs {acc_s:.2f} on {ca.labelled:,} labelled canary rows: "
            f"{body} {w.action(case, '')}"
        )
    r = _result("accuracy", e, case, reason)
    return [MetricResult(r.metric, r.verdict, reason, acc_s, acc_c, r.p_value, r.pass_p_value)]


def _errors(
    st: ArmObservations, ca: ArmObservations, s: JudgeSettings, at: str
) -> list[MetricResult]:
    if st.errors is None or ca.errors is None:
        return []
    e = request_errors(st.errors, st.rows, ca.errors, ca.rows, s)
    case = _case(e, s, ca.version, at, s.pass_alpha)
    if not bool(e.judged):
        low, who = (ca.rows, ca.version) if ca.rows <= st.rows else (st.rows, st.version)
        reason = "request errors: " + w.action(case, w.wait_rows(low, s.min_rows, "rows", who))
    else:
        body = w.worse(float(e.effect), s.error_allowance, case, "more", "fewer")
        reason = (
            f"request errors {float(e.canary) * 100:.1f} % vs {float(e.stable) * 100:.1f} % "
            f"of {ca.rows:,} canary requests: {body} {w.action(case, '')}"
        )
    return [_result("request errors", e, case, reason)]


def _latency(
    st: ArmObservations, ca: ArmObservations, s: JudgeSettings, at: str
) -> list[MetricResult]:
    a, b = latency_counts(st, s.grid), latency_counts(ca, s.grid)
    if a is None or b is None:
        return []
    m, n = float(a.sum()), float(b.sum())
    low, who = (n, ca.version) if n <= m else (m, st.version)
    wait = w.wait_rows(low, s.min_rows, "timed requests", who)
    tol = f"allowance {s.latency_tolerance * 100:g} %"
    out = []

    e = latency_shift(a, b, s)
    case = _case(e, s, ca.version, at, s.pass_alpha)
    med_s, med_c = float(e.stable), float(e.canary)
    head = f"latency median {w.ms(med_c)} vs {w.ms(med_s)} ({w.slower(med_c, med_s)}, {tol})"
    if not bool(e.judged):
        reason = f"latency: {w.action(case, wait)}"
    elif case.verdict in (Verdict.PASS, Verdict.INCONCLUSIVE):
        reason = f"{head}: {w.within(case)} {w.action(case, '')}"
    else:
        share = f"{float(e.effect) * 100:.0f} % of request pairs"
        proof = f" ({w.p_text(case.p_value)})" if case.verdict is Verdict.FAIL else ""
        reason = (
            f"{head}: the canary is slower in {share} even after the allowance{proof} "
            f"{w.action(case, '')}"
        )
    out.append(_result("latency", e, case, reason))

    e = latency_tail(a, b, s)
    case = _case(e, s, ca.version, at, s.pass_alpha)
    q = f"p{s.tail_quantile * 100:g}"
    qs, qc = float(e.stable), float(e.canary)
    need = max(s.min_rows, s.min_tail_events / (1 - s.tail_quantile))
    if case.verdict is Verdict.INCONCLUSIVE and (not bool(e.judged) or min(m, n) < need):
        low, who = (n, ca.version) if n <= m else (m, st.version)
        reason = f"{q} latency: " + w.action(case, w.wait_rows(low, need, "timed requests", who))
    else:
        bar = qs * (1 + s.latency_tolerance)
        reason = (
            f"{q} latency {w.ms(qc)} vs {w.ms(qs)} ({w.slower(qc, qs)}, {tol}): "
            f"{float(e.effect) * 100:.1f} % of canary requests above {w.ms(bar)}, against "
            f"{(1 - s.tail_quantile) * 100:g} % of stable's above its {q}{w.proof(case)} "
            f"{w.action(case, '')}"
        )
    out.append(_result(f"{q} latency", e, case, reason))

    e = latency_spread(a, b, s)
    case = _case(e, s, ca.version, at, s.pass_alpha)
    if not bool(e.judged):
        reason = f"latency spread: {w.action(case, wait)}"
    else:
        hint = (
            "; a bimodal or widened latency means a new slow path"
            if case.verdict in (Verdict.FAIL, Verdict.MARGINAL)
            else ""
        )
        reason = (
            f"latency spread: the canary's p90 is {float(e.canary):.1f}x its p10 against "
            f"{float(e.stable):.1f}x for stable; its requests lie further from their median in "
            f"{float(e.effect) * 100:.0f} % of pairs after the "
            f"{s.spread_tolerance * 100:g} % allowance{w.proof(case)}{hint} "
            f"{w.action(case, '')}"
        )
    out.append(_result("latency spread", e, case, reason))
    return out


def _drift(
    st: ArmObservations, ca: ArmObservations, s: JudgeSettings, at: str
) -> list[MetricResult]:
    if st.predictions is None or ca.predictions is None:
        return []
    a = np.asarray(st.predictions, dtype=np.float64)
    b = np.asarray(ca.predictions, dtype=np.float64)
    e = prediction_drift(a, b, s)
    case = _case(e, s, ca.version, at, s.pass_alpha)
    m, n = float(a.sum()), float(b.sum())
    if not bool(e.judged):
        low, who = (n, ca.version) if n <= m else (m, st.version)
        wait = w.wait_rows(low, s.min_rows, "predictions", who)
        reason = f"prediction distribution: {w.action(case, wait)}"
    else:
        share_s, share_c = a / max(m, 1.0), b / max(n, 1.0)
        k = int(np.argmax(np.abs(share_c - share_s)))
        proof = f" ({w.p_text(case.p_value)})" if case.verdict is Verdict.FAIL else ""
        side = "past" if case.verdict in (Verdict.FAIL, Verdict.MARGINAL) else "within"
        reason = (
            f"prediction distribution: PSI {float(e.effect):.2f} between canary and stable "
            f"over {a.size} bins, {side} the {s.drift_threshold:g} threshold; bin {k + 1} holds "
            f"{share_c[k] * 100:.0f} % of canary predictions vs {share_s[k] * 100:.0f} %"
            f"{proof} {w.action(case, '')}"
        )
    psi = float(e.effect)
    return [
        MetricResult(
            "prediction distribution",
            case.verdict,
            reason,
            0.0,
            psi,
            float(e.p_value) if bool(e.judged) else None,
        )
    ]
