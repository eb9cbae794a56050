"""Text normalisation shared by brand terms, exclude phrases and the texts matched against them.

- :func:`normalize` applies compatibility decomposition (NFKD), case folding, and drops every
  combining mark, so ``Acmé``, ``ACME`` and ``ACME`` in full-width letters all read ``acme``.
- A token is a run of letters, digits and ``_``. ``#`` or ``@`` belongs to a token only when it
  starts it (``#acmeshoes``, ``@acme``); inside a word it is a separator (``acme#x`` reads
  ``acme x``). Everything else — whitespace, punctuation, apostrophes, emoji — separates tokens,
  so ``🔥acme🔥`` and ``ACME's`` both contain the token ``acme``.

Limits: dropping combining marks folds accents, and in scripts that write vowels as marks
(Devanagari, Arabic harakat) it can make two different words equal.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# `#`/`@` count only when nothing word-like precedes them, so `acme#x` splits into two tokens.
_TOKEN: Final = re.compile(r"(?<!\w)[#@]?\w+")


class _MarkDropper(dict[int, int | None]):
    """``str.translate`` table deleting combining marks, filled lazily per code point seen."""

    __slots__ = ()

    def __missing__(self, codepoint: int) -> int | None:
        kept = None if unicodedata.category(chr(codepoint)).startswith("M") else codepoint
        self[codepoint] = kept
        return kept


_DROP_MARKS: Final = _MarkDropper()


def normalize(text: str) -> str:
    """Fold ``text`` to space-separated tokens with one space before and after.

    ``normalize("Tried the new @ACME trail-shoes! #AcméShoes")`` is
    ``" tried the new @acme trail shoes #acmeshoes "``; whole-word matching of a normalized term
    is then plain substring search. Idempotent: ``normalize(normalize(t)) == normalize(t)``.
    """
    if text.isascii():
        folded = text.lower()
    else:
        # Case folding can produce new composed characters (and NFKD can produce new capitals),
        # so decompose on both sides of it before dropping the marks.
        folded = unicodedata.normalize(
            "NFKD", unicodedata.normalize("NFKD", text).casefold()
        ).translate(_DROP_MARKS)
    tokens = _TOKEN.findall(folded)
    return f" {' '.join(tokens)} " if tokens else " "


__all__ = ["normalize"]
