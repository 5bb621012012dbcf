"""Always-valid p-values: evidence that stays honest when the verdict is re-read every minute.

A fixed-horizon test (a z-test, Fisher's, Mann-Whitney's) promises its 5 % for ONE look. A
canary judge looks every interval, and each look is one more chance for noise to cross the
line: a 5 % Mann-Whitney re-checked 60 times fails equal versions far more often than 5 %
(``bench/canary_bench.py`` measures it).

Method: the mixture sequential probability ratio test, mSPRT (Robbins 1970; Johari, Pekelis
and Walsh, "Always valid inference", 2017; the normal-mixture boundaries of Howard, Ramdas,
McAuliffe and Sekhon, 2021). Every statistic the judge uses is asymptotically normal,
``gap ~ N(theta, v)``. The likelihood ratio of ``theta = theta0 + lambda`` against
``theta0``, mixed over ``lambda``, is a nonnegative martingale under the null, so by Ville's
inequality it ever reaches ``1/alpha`` with probability at most ``alpha``, *over all looks,
however many and whenever they happen*. ``1 / ratio`` is the always-valid p-value. Why this
and not the alternatives the issue names:

* a confidence sequence of the same normal mixture is the same boundary seen from the other
  side (the set of ``theta0`` not rejected), so the p-value form says the same with less;
* alpha-spending (Bonferroni over looks, O'Brien-Fleming) needs the number of looks fixed in
  advance, and a rollout's length is not known (it ends when the judge says so);
* the mixture needs no horizon and no schedule, only ``tau``, the scale of effects it catches
  quickest: ``tau`` moves power between small and large effects, never validity.

One-sided tests (is the canary *worse* than allowed?) mix over the half-normal
``lambda > 0``; each component is a supermartingale whenever ``theta <= theta0``, so the
whole composite null is covered, not only its edge. Closed form, with information
``I = 1/v``, ``rho = 1/tau**2`` and ``S = (gap - theta0) I``::

    M = 2 sqrt(rho / (I + rho)) exp(S**2 / (2 (I + rho))) Phi(S / sqrt(I + rho))

Proving the other way (non-inferiority: the canary is *within* the allowance) is the same
test turned round: the null "``gap >= bound``" is tested on ``-gap`` against ``-bound``
(:func:`within_p`), so a canary steps up only once the mixture has ruled out every harm as
large as the allowance, at every look. Equal versions prove it at a speed set by the
allowance (the distance to cover), not by luck: a canary 3 points worse never does.

Many-sided tests (has the prediction histogram moved in any direction?) mix a ``d``-dimensional
whitened effect over ``N(0, tau**2 I_d)``: ``M = (1 + n tau**2)**(-d/2) exp(n tau**2 chi2 /
(2 (1 + n tau**2)))`` with ``chi2`` the Pearson statistic and ``n`` its effective rows.

The variance is estimated from the data (a plug-in), which makes these asymptotic
(Waudby-Smith et al., "Time-uniform central limit theory", 2023): the judge's minimum
samples, Fisher's exact guard on a FAIL and, on a PASS from counts, the variance at the
null's edge (the plug-in one is smallest exactly when a canary happens to look good) cover
the small counts, and the bench measures the real rates on both sides.

Everything is vectorised: arrays in, arrays out (any shape, broadcast), so the bench judges
a thousand simulated rollouts in one call.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bot.core.errors import ValidationError

FloatArray = npt.NDArray[np.float64]


def _positive(value: float, field: str) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ValidationError(field, f"must be a positive finite number, got {value!r}")
    return float(value)


def one_sided_p(
    gap: npt.ArrayLike, variance: npt.ArrayLike, *, null: float, tau: float
) -> FloatArray:
    """Always-valid p-value of "``gap``'s true value is at most ``null``" (a canary no worse).

    ``gap`` estimates the harm (positive = canary worse), ``variance`` its variance. Small
    when ``gap`` sits far above ``null`` with much information; 1 with no information.
    """
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # heavy: on first use

    rho = 1.0 / _positive(tau, "tau") ** 2
    info = 1.0 / np.maximum(np.asarray(variance, dtype=np.float64), 1e-300)
    s = (np.asarray(gap, dtype=np.float64) - null) * info
    total = info + rho
    log_m = (
        np.log(2.0)
        + 0.5 * np.log(rho / total)
        + s * s / (2.0 * total)
        + special.log_ndtr(s / np.sqrt(total))
    )
    p: FloatArray = np.minimum(1.0, np.exp(-log_m))
    return p


def within_p(
    gap: npt.ArrayLike, variance: npt.ArrayLike, *, bound: float, tau: float
) -> FloatArray:
    """Always-valid p-value of "``gap``'s true value is at least ``bound``" (worse than allowed).

    The pass side: small only when ``gap`` sits far *below* ``bound`` with much information,
    so "p <= level" proves the canary within the allowance (valid at every look, like
    :func:`one_sided_p`, whose mirror image it is).
    """
    return one_sided_p(-np.asarray(gap, dtype=np.float64), variance, null=-bound, tau=tau)


def chi_square_p(
    chi2: npt.ArrayLike, rows: npt.ArrayLike, dof: npt.ArrayLike, *, tau2: npt.ArrayLike
) -> FloatArray:
    """Always-valid p-value of "the two distributions are the same" from Pearson's ``chi2``.

    ``rows`` is the effective sample ``n_s n_c / (n_s + n_c)``, ``dof`` the degrees of freedom
    (informative bins - 1), ``tau2`` the mixture's squared effect per dimension (chi-square
    distance ``sum (q - p)**2 / p`` of about ``dof * tau2`` is caught quickest).
    """
    t2 = np.asarray(tau2, dtype=np.float64)
    if not (np.all(np.isfinite(t2)) and np.all(t2 > 0)):
        raise ValidationError("tau2", "must be positive finite numbers")
    ntau = np.asarray(rows, dtype=np.float64) * t2
    d = np.maximum(np.asarray(dof, dtype=np.float64), 0.0)
    log_m = -0.5 * d * np.log1p(ntau) + ntau * np.asarray(chi2, dtype=np.float64) / (
        2.0 * (1.0 + ntau)
    )
    p: FloatArray = np.where(d > 0, np.minimum(1.0, np.exp(-log_m)), 1.0)
    return p


def fixed_horizon_p(gap: npt.ArrayLike, variance: npt.ArrayLike, *, null: float) -> FloatArray:
    """The usual one-look, one-sided z-test p-value: valid for one look, *not* for many.

    Kept for the bench (the mistake being measured) and for nothing else.
    """
    from scipy import special  # type: ignore[import-untyped, unused-ignore]  # heavy: on first use

    z = (np.asarray(gap, dtype=np.float64) - null) / np.sqrt(
        np.maximum(np.asarray(variance, dtype=np.float64), 1e-300)
    )
    p: FloatArray = special.ndtr(-z)
    return p
