"""Text normalisation: folding, tokens and the shape every matcher relies on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.brands.text import normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", " "),
        ("   \t\n", " "),
        ("Acme", " acme "),
        ("  Tried   the new ACME  ", " tried the new acme "),
        ("Acmé ÀCMÉ", " acme acme "),
        ("ＡＣＭＥ", " acme "),  # full-width letters fold to ASCII (NFKD)
        ("Straße ﬁne", " strasse fine "),
        ("ACME's", " acme s "),
        ("ACME’s", " acme s "),
        ("🔥acme🔥", " acme "),
        ("acme,shoes!!!", " acme shoes "),
        ("trail-shoes", " trail shoes "),
        ("#AcmeShoes", " #acmeshoes "),
        ("@ACME", " @acme "),
        ("acme#x", " acme x "),  # `#` inside a word separates
        ("bob@zenith_co", " bob zenith_co "),  # so does `@`: an e-mail is not a handle
        ("##acme", " #acme "),
        ("#", " "),
        ("# @ !", " "),
        ("acme_shoes", " acme_shoes "),  # `_` is a word character
        ("a.c.m.e", " a c m e "),
        ("1,000 likes", " 1 000 likes "),
        ("Ünïcödé", " unicode "),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text())
def test_normalize_shape(text: str) -> None:
    out = normalize(text)
    assert out.startswith(" ")
    assert out.endswith(" ")
    assert "  " not in out
    assert out == " " or all(token for token in out[1:-1].split(" "))
