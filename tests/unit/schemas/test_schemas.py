"""The JSON Schema files producers use: in sync with the decoder's field tables, and in agreement
with ``decode_event`` about what is valid wherever a schema can say it.

Deliberate gaps (the schema is weaker than the decoder; each is pinned in ``KNOWN_GAPS`` below and
kept out of the property test's strategies):

* calendar validity: a pattern cannot reject month 13, day 31 of a 30-day month, hour 24 or the leap
  second ``:60`` (``format: date-time`` is an annotation unless a validator opts into it);
* ``1.0`` is an integer in JSON Schema's data model, but the decoder refuses a float for a count;
* Python's ``re`` (used by the jsonschema package) lets ``$`` match before a trailing newline and
  ``\\d`` match non-ASCII digits; ECMA-262 regexes, which JSON Schema specifies, do neither;
* ``payload_too_large`` is a limit on the record's bytes, not on any one field.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from datetime import datetime
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schemas.events import (
    FIELDS,
    MAX_COUNT,
    MAX_TEXT_CHARS,
    Comment,
    EventKind,
    FieldSpec,
    FollowerSnapshot,
    PostSnapshot,
    Rejection,
    decode_event,
    parse_time_ms,
)

REPO = Path(__file__).resolve().parents[3]
GEN_SCRIPT = REPO / "scripts" / "gen-schemas"
KINDS: tuple[EventKind, ...] = get_args(EventKind)


def _load_generator() -> ModuleType:
    loader = SourceFileLoader("gen_schemas", str(GEN_SCRIPT))
    spec = importlib.util.spec_from_loader("gen_schemas", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


GEN = _load_generator()
SCHEMAS: dict[EventKind, dict[str, Any]] = {
    kind: json.loads((REPO / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))
    for kind in KINDS
}
VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in SCHEMAS.items()}


def encode(obj: Any) -> bytes:
    # json, not orjson: orjson refuses integers beyond 64 bits, which the strategies produce.
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def schema_accepts(kind: EventKind, obj: Any) -> bool:
    return bool(VALIDATORS[kind].is_valid(obj))


def decoder_accepts(kind: EventKind, obj: Any) -> bool:
    return not isinstance(decode_event(kind, encode(obj)), Rejection)


# --- the files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_schema_file_is_the_generator_output(kind: EventKind) -> None:
    path = REPO / "schemas" / f"{kind}.schema.json"
    assert path.read_text(encoding="utf-8") == GEN.render(kind), "run scripts/gen-schemas"


def test_generator_check_mode_passes() -> None:
    done = subprocess.run(
        [sys.executable, str(GEN_SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_a_valid_draft_2020_12_schema(kind: EventKind) -> None:
    Draft202012Validator.check_schema(SCHEMAS[kind])
    assert SCHEMAS[kind]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("kind", KINDS)
def test_schema_lists_every_field_of_the_table(kind: EventKind) -> None:
    schema = SCHEMAS[kind]
    assert set(schema["properties"]) == {f.name for f in FIELDS[kind]}
    assert schema["required"] == [f.name for f in FIELDS[kind] if f.required]


# --- the contract's examples -------------------------------------------------------------------
# Copied verbatim from ../shared/contract.md ("Input events").

CONTRACT_POST = """
{"event_id": "ig-p-8812-1732096800", "platform": "instagram", "post_id": "8812",
 "creator_id": "instagram:alice", "community": "vegan-cooking",
 "text": "Tried the new @acme trail shoes today #acmeshoes", "created_at": "2026-11-20T10:00:00Z",
 "observed_at": "2026-11-20T11:00:00Z", "likes": 120, "comments": 14, "shares": 3, "views": 4000,
 "followers": 15400}
"""
CONTRACT_COMMENT = """
{"event_id": "ig-c-99120", "platform": "instagram", "comment_id": "99120", "post_id": "8812",
 "creator_id": "instagram:alice", "author_id": "instagram:bob", "text": "love these, ordering now!",
 "created_at": "2026-11-20T10:05:00Z"}
"""
CONTRACT_AUDIENCE = """
{"event_id": "ig-a-alice-1732096800", "platform": "instagram", "creator_id": "instagram:alice",
 "followers": 15400, "observed_at": "2026-11-20T10:00:00Z", "community": "vegan-cooking"}
"""
EXAMPLES: dict[EventKind, str] = {
    "post": CONTRACT_POST,
    "comment": CONTRACT_COMMENT,
    "audience": CONTRACT_AUDIENCE,
}
T_10_00 = parse_time_ms("2026-11-20T10:00:00Z")


def example(kind: EventKind) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(EXAMPLES[kind])
    return obj


@pytest.mark.parametrize("kind", KINDS)
def test_contract_example_is_valid_for_schema_and_decoder(kind: EventKind) -> None:
    raw = EXAMPLES[kind].encode()
    VALIDATORS[kind].validate(json.loads(raw))
    assert not isinstance(decode_event(kind, raw), Rejection)


def test_contract_examples_decode_to_their_values() -> None:
    assert T_10_00 is not None
    post = decode_event("post", CONTRACT_POST.encode())
    assert isinstance(post, PostSnapshot)
    assert (post.likes, post.comments, post.shares, post.views, post.followers) == (
        120,
        14,
        3,
        4000,
        15400,
    )
    assert (post.created_ms, post.observed_ms) == (T_10_00, T_10_00 + 3_600_000)
    assert (post.community, post.interactions) == ("vegan-cooking", 137)
    comment = decode_event("comment", CONTRACT_COMMENT.encode())
    assert isinstance(comment, Comment)
    assert (comment.post_id, comment.author_id, comment.created_ms) == (
        "8812",
        "instagram:bob",
        T_10_00 + 300_000,
    )
    audience = decode_event("audience", CONTRACT_AUDIENCE.encode())
    assert isinstance(audience, FollowerSnapshot)
    assert (audience.followers, audience.observed_ms) == (15400, T_10_00)


# --- invalid examples: both refuse -------------------------------------------------------------


def without(obj: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != name}


def with_(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**obj, **changes}


INVALID: list[tuple[str, EventKind, Any, str]] = [
    ("post without likes", "post", without(example("post"), "likes"), "missing_field"),
    ("post without event_id", "post", without(example("post"), "event_id"), "missing_field"),
    ("comment without text", "comment", without(example("comment"), "text"), "missing_field"),
    (
        "audience without observed_at",
        "audience",
        without(example("audience"), "observed_at"),
        "missing_field",
    ),
    ("negative likes", "post", with_(example("post"), likes=-1), "negative_count"),
    ("negative followers", "audience", with_(example("audience"), followers=-5), "negative_count"),
    ("negative views", "post", with_(example("post"), views=-1), "negative_count"),
    ("count above 2^53 - 1", "post", with_(example("post"), shares=MAX_COUNT + 1), "out_of_range"),
    (
        "year 0",
        "audience",
        with_(example("audience"), observed_at="0000-01-01T00:00:00Z"),
        "bad_timestamp",
    ),
    (
        "year 1969",
        "audience",
        with_(example("audience"), observed_at="1969-12-31T10:00:00Z"),
        "bad_timestamp",
    ),
    (
        "Arabic-Indic digits",
        "audience",
        with_(example("audience"), observed_at="٢٠٢٦-11-20T10:00:00Z"),
        "bad_timestamp",
    ),
    ("control character in an id", "post", with_(example("post"), post_id="a\x07b"), "bad_value"),
    ("C1 control in a tag", "post", with_(example("post"), community="a\x85b"), "bad_value"),
    (
        "zone-less observed_at",
        "audience",
        with_(example("audience"), observed_at="2026-11-20T10:00:00"),
        "bad_timestamp",
    ),
    (
        "zone-less created_at",
        "comment",
        with_(example("comment"), created_at="2026-11-20T10:05:00"),
        "bad_timestamp",
    ),
    (
        "date-only created_at",
        "post",
        with_(example("post"), created_at="2026-11-20"),
        "bad_timestamp",
    ),
    (
        "epoch number as time",
        "audience",
        with_(example("audience"), observed_at=1795168800),
        "wrong_type",
    ),
    ("string count", "post", with_(example("post"), likes="120"), "wrong_type"),
    ("bool count", "audience", with_(example("audience"), followers=True), "wrong_type"),
    ("fractional count", "post", with_(example("post"), comments=1.5), "wrong_type"),
    ("number as id", "comment", with_(example("comment"), comment_id=99120), "wrong_type"),
    ("list as text", "comment", with_(example("comment"), text=["a"]), "wrong_type"),
    ("object as community", "post", with_(example("post"), community={}), "wrong_type"),
    (
        "text over 100,000 chars",
        "comment",
        with_(example("comment"), text="x" * (MAX_TEXT_CHARS + 1)),
        "text_too_long",
    ),
    (
        "caption over 100,000 chars",
        "post",
        with_(example("post"), text="é" * (MAX_TEXT_CHARS + 1)),
        "text_too_long",
    ),
    ("empty event_id", "post", with_(example("post"), event_id=""), "bad_value"),
    ("empty community", "audience", with_(example("audience"), community=""), "bad_value"),
    (
        "id over 256 chars",
        "audience",
        with_(example("audience"), creator_id="c" * 257),
        "bad_value",
    ),
    # Python's re lets $ match before a final newline: the schema's pattern must not.
    ("id that is a newline", "audience", with_(example("audience"), creator_id="\n"), "bad_value"),
    ("id ending in a newline", "post", with_(example("post"), post_id="8812\n"), "bad_value"),
    ("array, not an object", "audience", [example("audience")], "not_an_object"),
    ("string, not an object", "comment", "hello", "not_an_object"),
]


@pytest.mark.parametrize(
    ("kind", "obj", "code"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_examples_are_refused_by_both(kind: EventKind, obj: Any, code: str) -> None:
    assert not schema_accepts(kind, obj)
    got = decode_event(kind, encode(obj))
    assert isinstance(got, Rejection)
    assert got.code == code


@pytest.mark.parametrize("char", ["x", "é", "😀"])
def test_text_of_exactly_100000_chars_is_accepted_by_both(char: str) -> None:
    obj = with_(example("comment"), text=char * MAX_TEXT_CHARS)
    assert schema_accepts("comment", obj)
    assert decoder_accepts("comment", obj)


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-11-20T10:00:00+02:00",
        "2026-11-20T10:00:00-05:30",
        "2026-11-20T10:00:00.5Z",
        "2026-11-20T10:00:00.123456789Z",
        "2026-11-20t10:00:00z",
    ],
)
def test_rfc3339_variants_are_accepted_by_both(stamp: str) -> None:
    obj = with_(example("audience"), observed_at=stamp)
    assert schema_accepts("audience", obj)
    assert decoder_accepts("audience", obj)


def test_unknown_extra_fields_are_accepted_by_both() -> None:
    obj = with_(example("audience"), extra={"nested": [1, 2]}, likes="not ours")
    assert schema_accepts("audience", obj)
    assert decoder_accepts("audience", obj)


# Where the schema is deliberately weaker than the decoder (see the module docstring).
KNOWN_GAPS: list[tuple[str, Any]] = [
    ("month 13", with_(example("audience"), observed_at="2026-13-20T10:00:00Z")),
    ("30 February", with_(example("audience"), observed_at="2026-02-30T10:00:00Z")),
    ("hour 24", with_(example("audience"), observed_at="2026-11-20T24:00:00Z")),
    ("leap second", with_(example("audience"), observed_at="2016-12-31T23:59:60Z")),
    ("offset hour 24", with_(example("audience"), observed_at="2026-11-20T10:00:00+24:00")),
    ("integral float count", with_(example("audience"), followers=15400.0)),
    ("trailing newline", with_(example("audience"), observed_at="2026-11-20T10:00:00Z\n")),
]


@pytest.mark.parametrize("obj", [g[1] for g in KNOWN_GAPS], ids=[g[0] for g in KNOWN_GAPS])
def test_known_gaps_schema_accepts_what_the_decoder_refuses(obj: Any) -> None:
    # If one of these starts failing, the schema got stricter: move the case to INVALID.
    assert schema_accepts("audience", obj)
    assert not decoder_accepts("audience", obj)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("post", "community"), ("post", "views"), ("comment", "author_id"), ("post", "text")],
)
def test_optional_field_null_agrees(kind: EventKind, name: str) -> None:
    obj = with_(example(kind), **{name: None})
    assert schema_accepts(kind, obj) == decoder_accepts(kind, obj)


# --- property: schema and decoder agree --------------------------------------------------------

_PATTERN = re.compile(SCHEMAS["post"]["properties"]["created_at"]["pattern"])


@st.composite
def rfc3339(draw: st.DrawFn) -> str:
    """A well-formed, calendar-valid RFC 3339 timestamp in any of the accepted spellings."""
    dt = draw(st.datetimes(min_value=datetime(1970, 1, 2)))
    sep = draw(st.sampled_from("Tt "))
    digits = draw(st.integers(0, 9))
    frac = "" if digits == 0 else "." + f"{dt.microsecond:06d}{draw(st.integers(0, 999)):03d}"
    frac = frac[: digits + 1]
    offset = draw(st.integers(-(23 * 60 + 59), 23 * 60 + 59))
    if offset == 0 and draw(st.booleans()):
        zone = draw(st.sampled_from("Zz"))
    else:
        sign = "-" if offset < 0 else "+"
        zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}{sep}"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{frac}{zone}"
    )


NOT_RFC3339 = st.one_of(
    st.sampled_from(
        ["2026-11-20T10:00:00", "2026-11-20", "10:00:00Z", "2026-11-20T10:00Z", "yesterday", ""]
    ),
    st.text(max_size=40),
).filter(lambda s: not _PATTERN.search(s))

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
# Not integral floats: JSON Schema counts 1.0 as an integer, the decoder does not (KNOWN_GAPS).
FRACTIONAL = st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer())
OTHER_TYPES = st.one_of(
    st.booleans(),
    FRACTIONAL,
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(), st.integers(), max_size=2),
)
LONG_TEXT = st.builds(
    lambda n, c: c * n,
    st.sampled_from([MAX_TEXT_CHARS - 1, MAX_TEXT_CHARS, MAX_TEXT_CHARS + 1]),
    st.sampled_from(["a", "é", "😀"]),
)


_MODELS: dict[EventKind, type[PostSnapshot] | type[Comment] | type[FollowerSnapshot]] = {
    "post": PostSnapshot,
    "comment": Comment,
    "audience": FollowerSnapshot,
}


def value_for(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Valid and invalid values for one field; null only where it is a required field."""
    if spec.kind == "count":
        own = st.one_of(
            st.integers(0, 10**6),
            st.integers(-(2**70), 2**70),
            st.sampled_from([0, -1, MAX_COUNT, MAX_COUNT + 1, 2**64, -(2**63)]),
            st.text(max_size=5),
        )
    elif spec.kind == "time":
        own = st.one_of(rfc3339(), NOT_RFC3339, st.integers())
    elif spec.kind == "text":
        own = st.one_of(st.text(max_size=30), LONG_TEXT, st.integers())
    else:
        limit = SCHEMAS["post"]["properties"]["event_id" if spec.kind == "id" else "community"][
            "maxLength"
        ]
        own = st.one_of(
            st.text(max_size=10),
            st.text(min_size=limit - 1, max_size=limit + 1, alphabet="ab€😀"),
            st.integers(),
        )
    choices: list[st.SearchStrategy[Any]] = [own, OTHER_TYPES]
    if spec.required:
        choices.append(st.none())
    return st.one_of(*choices)


@st.composite
def candidate(draw: st.DrawFn, kind: EventKind) -> Any:
    """A JSON value shaped like a ``kind`` event: every field valid except up to two of them."""
    if draw(st.integers(0, 19)) == 0:
        return draw(JSON_VALUES)  # not even an object, most of the time
    specs = FIELDS[kind]
    perturbed = draw(st.sets(st.sampled_from([s.name for s in specs]), max_size=2))
    obj: dict[str, Any] = {}
    for spec in specs:
        if spec.name in perturbed:
            if draw(st.integers(0, 3)):
                obj[spec.name] = draw(value_for(spec))
            # else: absent
        elif spec.required or draw(st.booleans()):
            obj[spec.name] = draw(valid_value(spec))
    names = {f.name for f in FIELDS[kind]}
    extra = draw(
        st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in names), JSON_VALUES, max_size=3
        )
    )
    return {**extra, **obj}


def valid_value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.kind == "count":
        return st.integers(0, MAX_COUNT)
    if spec.kind == "time":
        return rfc3339()
    if spec.kind == "text":
        return st.text(max_size=30)
    return st.text(min_size=1, max_size=12)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_schema_and_decoder_agree(kind: EventKind, data: st.DataObject) -> None:
    obj = data.draw(candidate(kind))
    decoded = decode_event(kind, encode(obj))
    assert isinstance(decoded, (Rejection, _MODELS[kind]))
    accepts = schema_accepts(kind, obj) and cross_fields_hold(kind, obj)
    assert accepts == (not isinstance(decoded, Rejection)), decoded


def cross_fields_hold(kind: EventKind, obj: Any) -> bool:
    """The two rules JSON Schema cannot say, documented on the post fields instead."""
    if kind != "post" or not isinstance(obj, dict):
        return True
    created, observed = parse_time_ms(obj["created_at"]), parse_time_ms(obj["observed_at"])
    assert created is not None  # the schema accepted them
    assert observed is not None
    return created <= observed and obj["likes"] + obj["comments"] + obj["shares"] <= MAX_COUNT


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(stamp=rfc3339())
def test_property_generated_timestamps_parse(stamp: str) -> None:
    # The strategy itself must only make timestamps both sides accept.
    assert _PATTERN.search(stamp)
    assert parse_time_ms(stamp) is not None
