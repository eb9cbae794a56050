"""argparse ``type=`` checks for numeric flags: one message style, naming what is allowed.

argparse prefixes each message with the flag (``argument --limit: must be ...``), so the
messages say only what the value must be and what it was.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Final


def int_between(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer from ``low`` to ``high`` inclusive; no upper bound when ``high`` is None."""
    allowed = f"at least {low}" if high is None else f"between {low} and {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}")
        return value

    return parse


positive_int: Final = int_between(1)
port: Final = int_between(1, 65_535)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def positive_float(text: str) -> float:
    """A number greater than 0."""
    value = _number(text)
    if not value > 0:  # written so that NaN is refused too
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A number of at least 0 (a duration that may be zero)."""
    value = _number(text)
    if not value >= 0:  # written so that NaN is refused too
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text!r}")
    return value


__all__ = ["int_between", "non_negative_float", "port", "positive_float", "positive_int"]
