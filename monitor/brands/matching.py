"""Brand mention matching: every brand's terms found in one Aho-Corasick pass over a text.

Semantics (the same for brand terms, exclude phrases and the texts they are matched against):

- Text and terms go through :func:`monitor.brands.text.normalize`, which folds case, accents and
  compatibility forms and splits the text into tokens (see that module for the token rules).
- A term matches whole tokens only: ``acme`` does not match ``acmeshoes``.
- Hashtags and handles are distinct tokens: the term ``#acmeshoes`` matches ``#AcmeShoes`` but not
  a bare ``acmeshoes``, ``@acme`` matches only ``@acme``, and a plain ``acme`` matches neither
  ``#acme`` nor ``@acme`` (list those as terms too if the brand wants them).
- A phrase term matches its tokens in order with only separators between them, so ``acme shoes``
  also matches ``Acme, shoes!`` and ``acme-shoes`` (punctuation is a separator like any other).
- A brand is mentioned when any of its terms matches and none of its exclude phrases does: one
  exclude phrase anywhere in the text vetoes that brand (and only that brand) for the whole text.

Limits: scripts written without spaces between words (Chinese, Japanese, Thai) only match where
the term stands alone between separators.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, Protocol

import ahocorasick

from monitor.brands.rules import BrandRule
from monitor.brands.text import normalize

_NO_BRANDS: Final[frozenset[str]] = frozenset()

# (brand id, is an exclude phrase) for every brand that listed one automaton key.
_Hit = tuple[str, bool]


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


__all__ = ["BrandMatcher"]
