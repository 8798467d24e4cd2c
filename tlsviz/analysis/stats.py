"""Statistical errors used by every analysis: means, fractions and counts (one standard error).

- a mean over DWPs or IS: the standard error of the mean, s / √n with the sample standard
  deviation s (ddof = 1); NaN when n < 2;
- a fraction k / n: the normal (binomial) standard error √(p(1 − p) / n) and the Wilson score
  interval at z = 1 (68 %), which stays inside [0, 1] and is sensible for k = 0 or k = n;
- a count k: the Poisson error √k, and 1 for k = 0 (the 68 % upper limit on a Poisson mean
  after seeing nothing is 1.15 counts, so an empty bin is not shown as exact).
"""

from __future__ import annotations

import numpy as np


def mean_sem(values) -> tuple[float, float]:
    """(mean, standard error of the mean) of the values; NaN where undefined (n = 0, or n = 1 for the error)."""
    x = np.asarray(values, dtype=float).ravel()
    n = len(x)
    if n == 0:
        return float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan")
    return mean, float(x.std(ddof=1) / np.sqrt(n))


def fraction(k: int, n: int, z: float = 1.0) -> dict:
    """k successes in n: ``dict(k, n, value, err, low, high)``.

    value = k / n, err = √(value (1 − value) / n) (binomial), [low, high] the Wilson score
    interval at z standard deviations. All NaN for n = 0.
    """
    k, n = int(k), int(n)
    if n == 0:
        nan = float("nan")
        return dict(k=k, n=n, value=nan, err=nan, low=nan, high=nan)
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return dict(k=k, n=n, value=p, err=float(np.sqrt(p * (1 - p) / n)),
                low=float(max(0.0, centre - half)), high=float(min(1.0, centre + half)))


def poisson_err(count):
    """Poisson error of a count: √k, and 1 for k = 0 (works element-wise on arrays)."""
    k = np.asarray(count, dtype=float)
    out = np.sqrt(np.maximum(k, 1.0))
    return float(out) if out.ndim == 0 else out


def ratio_err(a: float, a_err: float, b: float, b_err: float) -> tuple[float, float]:
    """a / b and its error for independent a and b (first-order propagation)."""
    if b == 0 or not np.isfinite(b):
        return float("nan"), float("nan")
    r = a / b
    if a == 0:
        return 0.0, float(abs(a_err / b))
    return float(r), float(abs(r) * np.hypot(a_err / a, b_err / b))
