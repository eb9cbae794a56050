"""VADER's compound score, the same float as ``vaderSentiment`` 3.3.2, several times faster.

The reference lower-cases the whole sentence again for every negation and idiom check (quadratic
in the number of words) and builds the emoji-free text one character at a time. This follows its
rules step by step, in the same order of float operations, but looks at each token once: a token's
facts (punctuation-stripped form, lower case, lexicon valence, booster, negation, ALL CAPS) are
cached, since comment vocabularies are small. Only the compound score is computed; ``pos``/``neg``/
``neu`` are not needed by the monitor. ``tests/unit/core/test_vader_fast.py`` holds it to the
reference on a varied corpus (emoji, negations, caps, punctuation, "but", idioms).
"""

from __future__ import annotations

import math
import re
import string
from typing import Final

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    C_INCR,
    N_SCALAR,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

_PUNCTUATION: Final = string.punctuation
_NEGATE: Final = frozenset(NEGATE)
_BOOSTER: Final[dict[str, float]] = dict(BOOSTER_DICT)
_SPECIAL: Final[dict[str, float]] = dict(SPECIAL_CASES)
# Words an idiom or a multi-word booster can start with: cheap test before building n-grams.
_IDIOM_FIRST: Final = frozenset(k.split()[0] for k in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in k)
_SO_THIS: Final = ("so", "this")
_OR_NOR: Final = ("or", "nor")
_TOKEN_CACHE_MAX: Final = 200_000
# Every emoji is outside ASCII; a big character class of emoji is slow in `re`, this is not.
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")
ALPHA: Final = 15


class _Token:
    """What the rules need to know about one whitespace-separated token."""

    __slots__ = ("booster", "lower", "negation", "upper", "valence")

    def __init__(self, raw: str, lexicon: dict[str, float]) -> None:
        stripped = raw.strip(_PUNCTUATION)
        word = raw if len(stripped) <= 2 else stripped  # short: probably an emoticon
        lower = word.lower()
        self.lower: str = lower
        self.upper: bool = word.isupper()
        self.valence: float | None = lexicon.get(lower)
        self.booster: float | None = _BOOSTER.get(lower)
        self.negation: bool = lower in _NEGATE or "n't" in lower


class FastVader:
    def __init__(self) -> None:
        # The reference's own tables, so both read exactly the same data files.
        reference = SentimentIntensityAnalyzer()
        self._lexicon: dict[str, float] = dict(reference.lexicon)
        # Only single characters can ever match: the reference looks at one character at a time.
        self._emojis: dict[str, str] = {k: v for k, v in reference.emojis.items() if len(k) == 1}
        self._tokens: dict[str, _Token] = {}

    def _replace_emojis(self, text: str) -> str:
        # Reference: a space goes before a description unless the previous character was a space
        # (or it is the first character); nothing goes after it.
        emojis = self._emojis

        def describe(m: re.Match[str]) -> str:
            char = m.group()
            description = emojis.get(char)
            if description is None:
                return char
            p = m.start()
            return description if p == 0 or text[p - 1] == " " else " " + description

        return _NON_ASCII.sub(describe, text)

    def _token(self, raw: str) -> _Token:
        tok = self._tokens.get(raw)
        if tok is None:
            if len(self._tokens) >= _TOKEN_CACHE_MAX:
                self._tokens.clear()
            tok = self._tokens[raw] = _Token(raw, self._lexicon)
        return tok

    def compound(self, text: str) -> float:
        """``SentimentIntensityAnalyzer().polarity_scores(text)["compound"]``."""
        if not text.isascii():
            text = self._replace_emojis(text)
        toks = [self._token(raw) for raw in text.split()]
        if not toks:
            return 0.0
        lower = [t.lower for t in toks]
        n = len(toks)
        n_upper = sum(1 for t in toks if t.upper)
        cap_diff = 0 < n - n_upper < n
        sentiments: list[float] = []
        for i, tok in enumerate(toks):
            if tok.booster is not None or tok.valence is None:
                sentiments.append(0)
                continue
            if tok.lower == "kind" and i < n - 1 and lower[i + 1] == "of":
                sentiments.append(0)  # "kind of" is a dampener, not the lexicon's "kind"
                continue
            sentiments.append(self._valence(toks, lower, i, cap_diff))
        if "but" in lower:
            sentiments = _but_check(lower.index("but"), sentiments)
        return _score(sentiments, text)

    def _valence(self, toks: list[_Token], lower: list[str], i: int, cap_diff: bool) -> float:
        tok = toks[i]
        valence = _no_rule(toks, lower, i)
        if tok.upper and cap_diff:
            valence = valence + C_INCR if valence > 0 else valence - C_INCR
        for start_i in range(3):
            j = i - start_i - 1
            if j < 0:
                break
            if toks[j].valence is not None:
                continue
            s = _scalar(toks[j], valence, cap_diff)
            if start_i == 1 and s != 0:
                s = s * 0.95
            if start_i == 2 and s != 0:
                s = s * 0.9
            valence = valence + s
            valence = _negation_check(valence, toks, lower, start_i, i)
            if start_i == 2:
                valence = _special_idioms_check(valence, lower, i)
        return _least_check(valence, lower, i)


def _no_rule(toks: list[_Token], lower: list[str], i: int) -> float:
    """The lexicon valence, with "no" as a negation of the next words rather than a word."""
    base: float = toks[i].valence  # type: ignore[assignment]  # checked by the caller
    valence = base
    if lower[i] == "no" and i != len(toks) - 1 and toks[i + 1].valence is not None:
        valence = 0.0
    if (
        (i > 0 and lower[i - 1] == "no")
        or (i > 1 and lower[i - 2] == "no")
        or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in _OR_NOR)
    ):
        valence = base * N_SCALAR
    return valence


def _scalar(prev: _Token, valence: float, cap_diff: bool) -> float:
    """A preceding booster's (or dampener's) push, in the direction of the valence."""
    s = 0.0
    if prev.booster is not None:
        s = prev.booster
        if valence < 0:
            s *= -1
        if prev.upper and cap_diff:
            if valence > 0:
                s += C_INCR
            else:
                s -= C_INCR
    return s


def _least_check(valence: float, lower: list[str], i: int) -> float:
    # "least" is no lexicon word, so the reference's lexicon test on it always passes.
    if i > 1 and lower[i - 1] == "least":
        if lower[i - 2] != "at" and lower[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and lower[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence


def _negation_check(
    valence: float, toks: list[_Token], lower: list[str], start_i: int, i: int
) -> float:
    if start_i == 0:
        if toks[i - 1].negation:
            valence = valence * N_SCALAR
    elif start_i == 1:
        if lower[i - 2] == "never" and lower[i - 1] in _SO_THIS:
            valence = valence * 1.25
        elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
            pass
        elif toks[i - 2].negation:
            valence = valence * N_SCALAR
    elif (lower[i - 3] == "never" and lower[i - 2] in _SO_THIS) or lower[i - 1] in _SO_THIS:
        valence = valence * 1.25
    elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
        pass
    elif toks[i - 3].negation:
        valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
    n = len(lower)
    w3, w2, w1, w0 = lower[i - 3], lower[i - 2], lower[i - 1], lower[i]
    first = _IDIOM_FIRST
    if not (w3 in first or w2 in first or w1 in first or w0 in first):
        return valence
    twoone = f"{w2} {w1}"
    threetwoone = f"{w3} {w2} {w1}"
    threetwo = f"{w3} {w2}"
    for seq in (f"{w1} {w0}", f"{w2} {w1} {w0}", twoone, threetwoone, threetwo):
        if seq in _SPECIAL:
            valence = _SPECIAL[seq]
            break
    if n - 1 > i:
        zeroone = f"{w0} {lower[i + 1]}"
        if zeroone in _SPECIAL:
            valence = _SPECIAL[zeroone]
    if n - 1 > i + 1:
        zeroonetwo = f"{w0} {lower[i + 1]} {lower[i + 2]}"
        if zeroonetwo in _SPECIAL:
            valence = _SPECIAL[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in _BOOSTER:
            valence = valence + _BOOSTER[n_gram]
    return valence


def _but_check(bi: int, sentiments: list[float]) -> list[float]:
    # The reference's loop, quirks included: ``index`` finds the first equal value, so repeated
    # values are rescaled at their first position only.
    for sentiment in sentiments:
        si = sentiments.index(sentiment)
        if si < bi:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 0.5)
        elif si > bi:
            sentiments.pop(si)
            sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _score(sentiments: list[float], text: str) -> float:
    sum_s = float(sum(sentiments))
    ep_count = min(text.count("!"), 4)
    ep_amplifier = ep_count * 0.292
    qm_count = text.count("?")
    qm_amplifier: float = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    punct = ep_amplifier + qm_amplifier
    if sum_s > 0:
        sum_s += punct
    elif sum_s < 0:
        sum_s -= punct
    norm = sum_s / math.sqrt((sum_s * sum_s) + ALPHA)
    if norm < -1.0:
        norm = -1.0
    elif norm > 1.0:
        norm = 1.0
    return round(norm, 4)


_default: FastVader | None = None


def compound(text: str) -> float:
    """The compound score in [-1, 1], rounded to four decimals like the reference."""
    global _default  # one lazily built analyzer per process
    if _default is None:
        _default = FastVader()
    return _default.compound(text)


__all__ = ["FastVader", "compound"]
