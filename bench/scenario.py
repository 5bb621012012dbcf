"""A reproducible synthetic classifier stream: accuracy falls 0.94 -> 0.71 under covariate shift.

Issue 7's benchmark needs a model whose realized accuracy really drops while its inputs
drift, and a label-free estimate (CBPE, ``bot.quality.estimate``) that should track the drop.

Construction
------------
A credit model predicts ``label`` 1 = "repays". There are ten numeric features (Gaussian,
with plausible units) and two categorical ones (``region``, ``channel``). The world's true
conditional is a logistic function of the standardized features ``u = (x - loc) / scale``::

    P(y=1 | x) = sigmoid(b + alpha * sum_i w_i u_i + region_effect + channel_effect)

and the *model is that very function*: it is perfectly specified, so its ``score``
``P(y=1|x)`` is calibrated on any input distribution. It predicts ``score >= 0.5`` and
reports ``confidence = max(score, 1 - score)``; labels are drawn ``y ~ Bernoulli(score)``.

Accuracy is then ``E[sigmoid(|z|)]`` over the logit ``z``: it depends only on how much of
the population lies near the decision boundary ``z = 0``. Pure covariate shift (``P(x)``
moves, ``P(y|x)`` does not) therefore lowers accuracy only if it moves mass *toward* the
boundary, and that is what the shifted stream does:

* reference and unshifted production: ``u ~ N(0, 1)``, the logit has spread
  ``alpha * |w| = 3`` and mean ``b``, chosen so accuracy is 0.94 (about 91% repay);
* shifted ("a partner channel sends pre-screened applicants"): income, debt ratio, credit
  age and utilization move toward the boundary (means by ``-k, +k, -k/2, +k/2`` standard
  deviations) and narrow to 30% of their spread; ``k`` is chosen so accuracy is 0.71.
  Region and channel mixes change too, and two features the model ignores drift
  (``session_length`` +1.5 sd, ``page_views`` 1.5x spread) as red herrings.

The shifted points stay inside the reference's support, so the model is never asked to
extrapolate: CBPE's assumptions hold and its estimate (mean confidence) falls with the
realized accuracy. ``b`` and ``k`` are solved at import by bisection on the exact population
accuracy (numerical integration over the logit's normal distribution per category pair).

Run ``.venv/bin/python bench/scenario.py`` to print and check the realized accuracies.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

NUMERIC: dict[str, tuple[float, float]] = {  # name: (loc, scale) in the feature's own units
    "income": (55.0, 18.0),  # k$/year
    "debt_ratio": (0.35, 0.12),
    "credit_age": (9.0, 5.0),  # years
    "utilization": (0.40, 0.20),
    "late_payments": (1.0, 1.0),
    "tenure": (4.0, 3.0),  # years
    "num_accounts": (5.0, 2.0),
    "inquiries": (2.0, 1.5),
    "session_length": (300.0, 120.0),  # seconds; the model ignores it
    "page_views": (12.0, 6.0),  # the model ignores it
}
FEATURES = tuple(NUMERIC)
CATEGORICAL = ("region", "channel")
WEIGHTS = np.array([1.0, -0.8, 0.6, -0.45, -0.25, 0.15, 0.1, 0.0, 0.0, 0.0])
LOGIT_SPREAD = 3.0  # alpha * |w|: the reference logit's standard deviation
ALPHA = LOGIT_SPREAD / float(np.linalg.norm(WEIGHTS))

REGIONS = ("north", "south", "east", "west")
REGION_EFFECT = np.array([0.3, -0.3, 0.15, -0.15])
CHANNELS = ("web", "app", "branch")
CHANNEL_EFFECT = np.array([0.2, 0.0, -0.3])

# The shifted population, per numeric feature: mean shift direction (times k, in reference
# standard deviations), fixed extra mean shift, and spread factor.
SHIFT_DIRECTION = np.array([-1.0, 1.0, -0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
RED_HERRING_SHIFT = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0])
SHIFT_SPREAD = np.array([0.3, 0.3, 0.3, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.5])
MIX = {  # (region probabilities, channel probabilities)
    False: (np.array([0.3, 0.3, 0.2, 0.2]), np.array([0.5, 0.3, 0.2])),
    True: (np.array([0.15, 0.45, 0.2, 0.2]), np.array([0.3, 0.3, 0.4])),
}

TARGET_REFERENCE = 0.94
TARGET_SHIFTED = 0.71

_GRID = np.linspace(-9.0, 9.0, 36_001)
_GRID_WEIGHT = np.exp(-0.5 * _GRID**2) / np.exp(-0.5 * _GRID**2).sum()

Stream = dict[str, npt.NDArray[Any]]


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow warning
    return result


def _population_accuracy(bias: float, shifted: bool, k: float) -> float:
    """Exact E[sigmoid(|z|)]: z is normal given the category pair; sum over the pairs."""
    spread = SHIFT_SPREAD if shifted else np.ones_like(WEIGHTS)
    mean_shift = k * SHIFT_DIRECTION + RED_HERRING_SHIFT if shifted else np.zeros_like(WEIGHTS)
    mean = bias + ALPHA * float(WEIGHTS @ mean_shift)
    sd = ALPHA * float(np.linalg.norm(WEIGHTS * spread))
    region_p, channel_p = MIX[shifted]
    total = 0.0
    for rp, re in zip(region_p, REGION_EFFECT, strict=True):
        for cp, ce in zip(channel_p, CHANNEL_EFFECT, strict=True):
            z = mean + re + ce + sd * _GRID
            total += rp * cp * float(_GRID_WEIGHT @ _sigmoid(np.abs(z)))
    return total


def _bisect(f: Callable[[float], float], low: float, high: float) -> float:
    """Root of a monotone ``f`` on ``[low, high]`` (sign change required)."""
    f_low = f(low)
    if f_low * f(high) > 0:
        raise ValueError("no sign change: the scenario's targets are out of reach")
    for _ in range(60):
        mid = 0.5 * (low + high)
        f_mid = f(mid)
        if f_low * f_mid <= 0:
            high = mid
        else:
            low, f_low = mid, f_mid
    return 0.5 * (low + high)


BIAS = _bisect(lambda b: _population_accuracy(b, False, 0.0) - TARGET_REFERENCE, 0.0, 20.0)
_K_MAX = BIAS / (ALPHA * abs(float(WEIGHTS @ SHIFT_DIRECTION)))  # logit mean reaches 0
SHIFT_K = _bisect(lambda k: _population_accuracy(BIAS, True, k) - TARGET_SHIFTED, 0.0, _K_MAX)


def population_accuracy(*, shifted: bool) -> float:
    """The accuracy an infinite stream would show (0.94, or 0.71 when shifted)."""
    return _population_accuracy(BIAS, shifted, SHIFT_K if shifted else 0.0)


def _generate(n: int, *, shifted: bool, seed: int, tag: str) -> Stream:
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng([seed, sum(map(ord, tag))])
    u = rng.standard_normal((n, WEIGHTS.size))
    if shifted:
        u = u * SHIFT_SPREAD + SHIFT_K * SHIFT_DIRECTION + RED_HERRING_SHIFT
    region_p, channel_p = MIX[shifted]
    region = rng.choice(len(REGIONS), size=n, p=region_p)
    channel = rng.choice(len(CHANNELS), size=n, p=channel_p)
    logit = BIAS + ALPHA * (u @ WEIGHTS) + REGION_EFFECT[region] + CHANNEL_EFFECT[channel]
    score = _sigmoid(logit)
    prediction = (score >= 0.5).astype(np.int64)
    label = (rng.random(n) < score).astype(np.int64)
    stream: Stream = {
        name: loc + scale * u[:, i] for i, (name, (loc, scale)) in enumerate(NUMERIC.items())
    }
    stream["region"] = np.array(REGIONS)[region]
    stream["channel"] = np.array(CHANNELS)[channel]
    stream["score"] = score
    stream["prediction"] = prediction
    stream["confidence"] = np.maximum(score, 1.0 - score)
    stream["label"] = label
    stream["id"] = np.array([f"{tag}-{seed}-{i:07d}" for i in range(n)])
    return stream


def make_reference(n: int = 20_000, seed: int = 0) -> Stream:
    """Labelled reference data: the distribution the model was validated on."""
    return _generate(n, shifted=False, seed=seed, tag="ref")


def make_stream(n: int = 20_000, *, shifted: bool, seed: int = 1) -> Stream:
    """Production rows: like the reference, or under the covariate shift described above."""
    return _generate(n, shifted=shifted, seed=seed, tag="shift" if shifted else "prod")


def realized_accuracy(stream: Stream) -> float:
    return float(np.mean(stream["prediction"] == stream["label"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50_000, help="rows per set (default 50,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sets = {
        "reference": (make_reference(args.n, args.seed), TARGET_REFERENCE),
        "unshifted": (make_stream(args.n, shifted=False, seed=args.seed + 1), TARGET_REFERENCE),
        "shifted": (make_stream(args.n, shifted=True, seed=args.seed + 2), TARGET_SHIFTED),
    }
    print(f"bias b = {BIAS:.4f}, alpha = {ALPHA:.4f}, shift k = {SHIFT_K:.4f} sd")
    print(f"{'set':<10} {'n':>7} {'accuracy':>9} {'mean conf':>10} {'target':>7} {'positive':>9}")
    ok = True
    for name, (stream, target) in sets.items():
        accuracy = realized_accuracy(stream)
        confidence = float(np.mean(stream["confidence"]))
        positive = float(np.mean(stream["label"]))
        ok &= abs(accuracy - target) <= 0.01 and abs(confidence - target) <= 0.01
        print(
            f"{name:<10} {stream['label'].size:>7} {accuracy:>9.4f} {confidence:>10.4f}"
            f" {target:>7.2f} {positive:>9.3f}"
        )
    ref_pop, shift_pop = population_accuracy(shifted=False), population_accuracy(shifted=True)
    print(f"population accuracy: reference {ref_pop:.4f}, shifted {shift_pop:.4f}")
    print("OK: within 0.01 of the targets" if ok else "FAIL: off target by more than 0.01")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
