"""VADER compound scores, kept as integers (x 10,000) so sums are exact and order-free.

vaderSentiment already rounds the compound score to four decimals, so the integer form loses
nothing and float summation order can never change a table.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

SCALE: Final = 10_000
POSITIVE_MIN: Final = 500  # compound >= 0.05
NEGATIVE_MAX: Final = -500  # compound <= -0.05


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """The reference VADER compound score in [-1, 1]."""
    score: float = _analyzer().polarity_scores(text)["compound"]
    return score


def compound_scaled(text: str) -> int:
    return round(compound(text) * SCALE)


def label(scaled: int) -> str:
    if scaled >= POSITIVE_MIN:
        return "positive"
    if scaled <= NEGATIVE_MAX:
        return "negative"
    return "neutral"
