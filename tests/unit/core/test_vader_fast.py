"""``monitor.core.vader_fast`` gives exactly the reference ``vaderSentiment`` compound score.

The corpus is built to reach every rule of the reference: lexicon words, boosters and dampeners
(also in ALL CAPS and as "kind of"/"sort of"), negations ("not", "n't", "no", "never so",
"without doubt"), "least", "but" (with its repeated-value quirk), special idioms, emoji (alone,
glued to words and to each other, multi-code-point ones), emoticons, punctuation runs and odd
whitespace, plus the benchmark's own comment texts.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SENTIMENT_LADEN_IDIOMS,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

from bench.workload import TextGen
from monitor.core.sentiment import compound, compound_scaled
from monitor.core.vader_fast import FastVader

REFERENCE = SentimentIntensityAnalyzer()
FAST = FastVader()
LEXICON = sorted(REFERENCE.lexicon)
EMOJI = sorted(REFERENCE.emojis)  # single and multi code point keys
CONTEXT = [
    "no", "not", "never", "so", "this", "without", "doubt", "least", "at", "very", "but", "BUT",
    "kind", "of", "sort", "or", "nor", "isn't", "don't", "cant", "nope", "the", "a", "I", "it",
    "was", "is", "and", "really", "REALLY", "kinda", "just", "enough", "yeah", "right",
]  # fmt: skip
FILLER = ["video", "today", "phone", "camera", "shoes", "x1", "42", "lol", "omg", "tbh", "@fan1"]
PUNCT = ["", "", "", "!", "!!", "!!!", "!!!!!", "?", "??", "???", "????", "?!", ".", "...", ","]
EMOTICONS = [":)", ":(", ":D", ":-)", ";)", ":/", "<3", ":'(", "=)", "(:", ":P", "xD", ":-D"]
SPACES = [" ", " ", " ", " ", "  ", "\t", "\n", "\u00a0", "\u3000"]


def _word(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        w = rng.choice(LEXICON)
    elif roll < 0.45:
        w = rng.choice(list(BOOSTER_DICT))
    elif roll < 0.55:
        w = rng.choice(NEGATE)
    elif roll < 0.75:
        w = rng.choice(CONTEXT)
    elif roll < 0.82:
        w = rng.choice(list(SPECIAL_CASES) + list(SENTIMENT_LADEN_IDIOMS))
    elif roll < 0.9:
        w = rng.choice(EMOJI)
    elif roll < 0.95:
        w = rng.choice(EMOTICONS)
    else:
        w = rng.choice(FILLER)
    shape = rng.random()
    if shape < 0.12:
        w = w.upper()
    elif shape < 0.2:
        w = w.capitalize()
    if rng.random() < 0.1:
        w = rng.choice(("(", "'", '"', "*", "-", "#")) + w + rng.choice((")", "'", '"', ",", "."))
    if rng.random() < 0.08:
        w += rng.choice(EMOJI)  # glued, as people type
    return str(w) + rng.choice(PUNCT)


def corpus(n: int, seed: int = 20261120) -> list[str]:
    rng = random.Random(seed)
    texts = ["", " ", "!!!", "???", "😀", "😀😀", " 😀 ", "a😀b", "but", "no", "kind of"]
    gen = TextGen(random.Random(seed + 1))
    while len(texts) < n:
        if rng.random() < 0.2:
            texts.append(gen.text())
            continue
        words = [_word(rng) for _ in range(rng.randint(1, 40))]
        text = words[0]
        for w in words[1:]:
            text += rng.choice(SPACES) + w
        if rng.random() < 0.1:
            text = text.upper()
        texts.append(text)
    return texts


CORPUS = corpus(12_000)


def test_corpus_is_varied() -> None:
    assert len(CORPUS) >= 10_000
    assert len(set(CORPUS)) > 9_000
    assert sum(1 for t in CORPUS if any(e in t for e in ("😀", "😍", "🔥", "❤"))) > 100
    assert sum(1 for t in CORPUS if not t.isascii()) > 2_000
    assert sum(1 for t in CORPUS if " but " in t.lower()) > 300
    assert sum(1 for t in CORPUS if "n't" in t) > 300
    assert sum(1 for t in CORPUS if "!!!" in t) > 300
    scores = {REFERENCE.polarity_scores(t)["compound"] for t in CORPUS[:2000]}
    assert len(scores) > 500  # far from all-neutral


def test_every_text_scores_like_the_reference() -> None:
    mismatches = [
        (t, REFERENCE.polarity_scores(t)["compound"], FAST.compound(t))
        for t in CORPUS
        if abs(REFERENCE.polarity_scores(t)["compound"] - FAST.compound(t)) > 1e-9
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    "text",
    [
        "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
        "At least it isn't a horrible book.",
        "The plot was good, but the characters are uncompelling and the dialog is not great.",
        "Today only kinda sux! But I'll get by, lol",
        "Catch utf-8 emoji such as 💘 and 💋 and 😁",
        "good good but good bad bad",  # `but` rescales repeated values at their first position
        "no good no bad",
        "never so good",
        "without doubt good",
        "the shit is the bomb",
        "kind of good",
        "at least good, very least bad, least good",
        "GOOD but BAD",
        "😍😍good 😍",
    ],
)
def test_known_sentences(text: str) -> None:
    assert FAST.compound(text) == REFERENCE.polarity_scores(text)["compound"]
    assert compound(text) == REFERENCE.polarity_scores(text)["compound"]
    assert compound_scaled(text) == round(REFERENCE.polarity_scores(text)["compound"] * 10_000)


_TOKENS = st.sampled_from(LEXICON[::7] + list(BOOSTER_DICT) + NEGATE + CONTEXT + EMOJI[::11])


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(_TOKENS, min_size=0, max_size=25),
    seps=st.lists(st.sampled_from([*SPACES, "", "!", "?", ","]), min_size=25, max_size=25),
)
def test_random_token_sequences(words: list[str], seps: list[str]) -> None:
    text = "".join(w + s for w, s in zip(words, seps, strict=False))
    assert FAST.compound(text) == REFERENCE.polarity_scores(text)["compound"]
