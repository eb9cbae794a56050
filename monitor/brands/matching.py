"""Brand mention matching: every brand's terms found in one Aho-Corasick pass over a text.

Semantics (the same for brand terms, exclude phrases and the texts they are matched against):

- Text and terms go through :func:`normalize`: compatibility decomposition (NFKD), case folding,
  and every combining mark dropped, so ``Acmé``, ``ACME`` and full-width ``ACME`` all read ``acme``.
- A token is a run of letters, digits and ``_``. ``#`` or ``@`` belongs to a token only when it
  starts it (``#acmeshoes``, ``@acme``); inside a word it is a separator (``acme#x`` reads
  ``acme x``). Everything else — whitespace, punctuation, apostrophes, emoji — separates tokens,
  so ``🔥acme🔥`` and ``ACME's`` both contain the token ``acme``.
- A term matches whole tokens only: ``acme`` does not match ``acmeshoes``.
- Hashtags and handles are distinct tokens: the term ``#acmeshoes`` matches ``#AcmeShoes`` but not
  a bare ``acmeshoes``, ``@acme`` matches only ``@acme``, and a plain ``acme`` matches neither
  ``#acme`` nor ``@acme`` (list those as terms too if the brand wants them).
- A phrase term matches its tokens in order with only separators between them, so ``acme shoes``
  also matches ``Acme, shoes!`` and ``acme-shoes`` (punctuation is a separator like any other).
- A brand is mentioned when any of its terms matches and none of its exclude phrases does: one
  exclude phrase anywhere in the text vetoes that brand (and only that brand) for the whole text.

Limits: scripts written without spaces between words (Chinese, Japanese, Thai) only match where
the term stands alone between separators. Dropping combining marks folds accents, and in scripts
that write vowels as marks (Devanagari, Arabic harakat) it can make two different words equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Protocol

import ahocorasick

if TYPE_CHECKING:
    from monitor.brands.rules import BrandRule

# `#`/`@` count only when nothing word-like precedes them, so `acme#x` splits into two tokens.
_TOKEN: Final = re.compile(r"(?<!\w)[#@]?\w+")

_NO_BRANDS: Final[frozenset[str]] = frozenset()

# (brand id, is an exclude phrase) for every brand that listed one automaton key.
_Hit = tuple[str, bool]


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


class _Automaton(Protocol):
    """The part of ``ahocorasick.Automaton`` the matcher uses (the library ships no stubs)."""

    def iter(self, string: str) -> Iterator[tuple[int, tuple[_Hit, ...]]]: ...


class BrandMatcher:
    """Finds which brands a text mentions, for all brands at once.

    Immutable: when rules change, build a new matcher (construction is linear in the total length
    of all terms, well under a millisecond for hundreds of brands) and swap the reference.
    """

    __slots__ = ("_automaton", "_rules")

    def __init__(self, rules: Mapping[str, BrandRule]) -> None:
        keys: dict[str, dict[_Hit, None]] = {}
        for brand_id, rule in rules.items():
            if rule.brand_id != brand_id:
                msg = f"rules key {brand_id!r} holds the rule of brand {rule.brand_id!r}"
                raise ValueError(msg)
            for phrases, is_exclude in ((rule.terms, False), (rule.exclude, True)):
                for phrase in phrases:
                    key = normalize(phrase)
                    # A term with no tokens could only ever match nothing; parsing rejects it.
                    if key != " ":
                        keys.setdefault(key, {})[(brand_id, is_exclude)] = None
        self._rules: Mapping[str, BrandRule] = MappingProxyType(dict(rules))
        self._automaton: _Automaton | None = None
        if keys:
            automaton = ahocorasick.Automaton()
            for key, hits in keys.items():
                automaton.add_word(key, tuple(hits))
            automaton.make_automaton()
            self._automaton = automaton

    @property
    def brands(self) -> frozenset[str]:
        """The ids of every brand this matcher knows."""
        return frozenset(self._rules)

    @property
    def rules(self) -> Mapping[str, BrandRule]:
        """The rules it was built from (read-only), brand id → rule."""
        return self._rules

    def match(self, text: str) -> frozenset[str]:
        """The ids of the brands ``text`` mentions (see the module docstring for the rules)."""
        if self._automaton is None or not text:
            return _NO_BRANDS
        mentioned: set[str] = set()
        vetoed: set[str] = set()
        for _end, hits in self._automaton.iter(normalize(text)):
            for brand_id, is_exclude in hits:
                (vetoed if is_exclude else mentioned).add(brand_id)
        if not mentioned:
            return _NO_BRANDS
        return frozenset(mentioned - vetoed)


__all__ = ["BrandMatcher", "normalize"]
