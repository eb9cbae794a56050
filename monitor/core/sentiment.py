"""VADER compound scores, kept as integers (x 10,000) so sums are exact and order-free.

vaderSentiment already rounds the compound score to four decimals, so the integer form loses
nothing and float summation order can never change a table. The scores come from
``monitor.core.vader_fast``, which gives the reference's compound score to the last bit
several times faster (tests/unit/core/test_vader_fast.py holds it to ``vaderSentiment`` on a
varied corpus).
"""

from __future__ import annotations

from typing import Final

from monitor.core import vader_fast

SCALE: Final = 10_000
POSITIVE_MIN: Final = 500  # compound >= 0.05
NEGATIVE_MAX: Final = -500  # compound <= -0.05


def compound(text: str) -> float:
    """The VADER compound score in [-1, 1] (equal to ``vaderSentiment``'s)."""
    return vader_fast.compound(text)


def compound_scaled(text: str) -> int:
    return round(compound(text) * SCALE)


def label(scaled: int) -> str:
    if scaled >= POSITIVE_MIN:
        return "positive"
    if scaled <= NEGATIVE_MAX:
        return "negative"
    return "neutral"
