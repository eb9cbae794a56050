"""Small-count statistics against brute-force sums (exact rationals where it matters)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.stats import (
    alpha_for_half_life,
    binomial_sf,
    ewma,
    median,
    negbin_sf,
    poisson_sf,
    seasonal_factor,
)


def poisson_sf_exact(k: int, lam: float) -> float:
    # 1 - sum_{i<k} e^-lam lam^i / i!, with the sum done in exact rationals except e^-lam
    lam_f = Fraction(lam)
    term, total = Fraction(1), Fraction(0)
    for i in range(k):
        if i:
            term = term * lam_f / i
        total += term
    return 1.0 - float(total) * math.exp(-lam)


def binomial_sf_exact(k: int, n: int, p: float) -> float:
    pf = Fraction(p)
    return float(sum(math.comb(n, i) * pf**i * (1 - pf) ** (n - i) for i in range(k, n + 1)))


@pytest.mark.parametrize(
    ("k", "lam", "want"),
    [
        (0, 3.0, 1.0),
        (1, 0.0, 0.0),
        (1, 1.0, 1 - math.exp(-1)),
        (3, 2.0, 1 - math.exp(-2) * (1 + 2 + 2)),
        (42, 6.1, None),  # the contract's example: far in the tail
    ],
)
def test_poisson_sf_known_values(k: int, lam: float, want: float | None) -> None:
    got = poisson_sf(k, lam)
    if want is None:
        assert 0 < got < 1e-15
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-15)


@given(k=st.integers(0, 60), lam=st.floats(0.05, 40))
def test_poisson_sf_matches_brute_force(k: int, lam: float) -> None:
    want = poisson_sf_exact(k, lam)
    got = poisson_sf(k, lam)
    assert got == pytest.approx(want, rel=1e-6, abs=1e-12)


def test_poisson_tail_is_accurate_where_the_complement_would_cancel() -> None:
    # P(X >= 30 | 2) ~ 1e-20: a 1 - CDF computation would return 0
    lam, k = 2.0, 30
    want = sum(math.exp(-lam + i * math.log(lam) - math.lgamma(i + 1)) for i in range(k, k + 200))
    assert poisson_sf(k, lam) == pytest.approx(want, rel=1e-9)


@given(n=st.integers(0, 60), k=st.integers(0, 61), p=st.floats(0.001, 0.999))
def test_binomial_sf_matches_brute_force(n: int, k: int, p: float) -> None:
    assert binomial_sf(k, n, p) == pytest.approx(binomial_sf_exact(k, n, p), rel=1e-6, abs=1e-14)


def test_ewma_and_half_life() -> None:
    assert ewma(None, 5.0, 0.5) == 5.0
    assert ewma(4.0, 8.0, 0.25) == 5.0
    a = alpha_for_half_life(10)
    value = 1.0
    for _ in range(10):
        value = ewma(value, 0.0, a)
    assert value == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("profile", "slot", "want"),
    [
        ([], 0, 1.0),
        ([0.0] * 4, 1, 1.0),
        ([1.0, 3.0], 1, 1.5),
        ([1.0, 99.0], 1, 1.98),
        ([0.001, 10.0], 0, 0.2),
    ],
)
def test_seasonal_factor_is_relative_and_bounded(
    profile: list[float], slot: int, want: float
) -> None:
    assert seasonal_factor(profile, slot) == pytest.approx(want)


def _negbin_direct(k: int, mean: float, size: float) -> float:
    p = size / (size + mean)
    below = sum(
        math.exp(
            math.lgamma(i + size)
            - math.lgamma(size)
            - math.lgamma(i + 1)
            + size * math.log(p)
            + i * math.log1p(-p)
        )
        for i in range(k)
    )
    return 1.0 - below


@pytest.mark.parametrize(
    ("k", "mean", "size"),
    [
        (1, 2.0, 1.0),
        (5, 2.0, 1.0),
        (10, 3.0, 2.0),
        (30, 10.0, 3.0),
        (100, 20.0, 3.0),
        (3, 10.0, 3.0),
    ],
)
def test_negbin_sf_matches_the_summed_pmf(k: int, mean: float, size: float) -> None:
    assert negbin_sf(k, mean, size) == pytest.approx(_negbin_direct(k, mean, size), rel=1e-9)


@pytest.mark.parametrize(
    ("k", "mean", "size", "expected"),
    [
        (0, 5.0, 3.0, 1.0),
        (-1, 5.0, 3.0, 1.0),
        (1, 0.0, 3.0, 0.0),
        (1, 2.0, 1.0, 2 / 3),  # geometric: P(X >= 1) = 1 - p
    ],
)
def test_negbin_sf_edges(k: int, mean: float, size: float, expected: float) -> None:
    assert negbin_sf(k, mean, size) == pytest.approx(expected)


def test_negbin_is_poisson_when_size_is_large() -> None:
    assert negbin_sf(50, 40.0, 1e7) == pytest.approx(poisson_sf(50, 40.0), rel=1e-4)


def test_negbin_tail_is_fatter_than_poisson() -> None:
    # three times the mean: unremarkable for a post's reach, absurd for counting noise
    assert negbin_sf(300, 100.0, 3.0) > 1e-3 > 1e-30 > poisson_sf(300, 100.0)
    assert negbin_sf(1500, 100.0, 3.0) < 1e-15


@pytest.mark.parametrize(
    ("values", "expected"), [([], 0.0), ([3.0], 3.0), ([5.0, 1.0, 9.0], 5.0), ([4, 1, 2, 100], 3.0)]
)
def test_median(values: list[float], expected: float) -> None:
    assert median(values) == expected
