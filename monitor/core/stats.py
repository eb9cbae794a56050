"""Small-count statistics for the detectors (pure).

Mention counts per window are small, so spikes are judged with exact Poisson and binomial upper
tails rather than a normal z-score, which badly overstates significance at low counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_TAIL_EPS = 1e-17


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), accurate far into the tail."""
    if k <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if k <= lam:
        # Body of the distribution: 1 - P(X <= k-1), summed directly.
        term = math.exp(-lam)
        total = term
        for i in range(1, k):
            term *= lam / i
            total += term
        return max(0.0, min(1.0, 1.0 - total))
    # Upper tail: sum pmf from k up; terms shrink geometrically once i > lam.
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    term = math.exp(log_term)
    total = term
    i = k
    while term > total * _TAIL_EPS and i < k + 10_000:
        i += 1
        term *= lam / i
        total += term
    return min(1.0, total)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        log_pmf = math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
        term = math.exp(log_pmf + i * log_p + (n - i) * log_q)
        total += term
        if i > n * p and term < total * _TAIL_EPS:
            break
    return min(1.0, total)


def ewma(previous: float | None, value: float, alpha: float) -> float:
    return value if previous is None else previous + alpha * (value - previous)


def alpha_for_half_life(steps: float) -> float:
    """EWMA weight whose memory halves every ``steps`` updates."""
    return 1.0 - float(0.5 ** (1.0 / steps))


def seasonal_factor(profile: Sequence[float], slot: int) -> float:
    """Relative level of one hour-of-week slot against the profile's mean (1.0 when flat)."""
    mean = sum(profile) / len(profile) if profile else 0.0
    if mean <= 0:
        return 1.0
    return float(max(0.2, min(5.0, profile[slot] / mean)))


def negbin_sf(k: int, mean: float, size: float) -> float:
    """P(X >= k) for X ~ NegativeBinomial with this mean and size (gamma-Poisson mixture).

    Interactions of one creator's posts vary far more than Poisson allows (a post's reach is
    itself random): the mixture's variance is ``mean + mean**2 / size``. Closed form through the
    regularized incomplete beta: P(X >= k) = I_x(k, size) with x = mean / (mean + size).
    """
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    return min(1.0, max(0.0, _beta_inc(float(k), size, mean / (mean + size))))


def _beta_inc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) (continued fraction, Numerical Recipes 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # the fraction converges fast only below the mean of the beta; use the symmetry above it
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def median(values: Sequence[float]) -> float:
    """The middle value (mean of the two middle ones for an even count); 0.0 for none."""
    s = sorted(values)
    n = len(s)
    if not n:
        return 0.0
    return float(s[n // 2]) if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
