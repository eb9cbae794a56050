"""Input event models and their strict, fast decoder.

One field table per event type drives three things: decoding, the JSON Schema files producers
use, and the docs. Decoding is orjson on the raw bytes followed by one pass over the table, so
validation costs about as much as the parse itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from schemas.codec import JSONDecodeError, loads

EventKind = Literal["post", "comment", "audience"]
FieldKind = Literal["id", "count", "time", "text", "tag"]

MAX_TEXT_CHARS: Final = 100_000
MAX_ID_CHARS: Final = 256
MAX_TAG_CHARS: Final = 128
MAX_PAYLOAD_BYTES: Final = 1_048_576
# Lua numbers are doubles: every integer up to 2**53 - 1 survives Redis and the batch script
# exactly, the next one does not. A post's likes + comments + shares must fit the same bound.
MAX_COUNT: Final = 2**53 - 1
# Ids and tags: any text but control characters (C0, DEL, C1), which no terminal, log or URL shows
# faithfully. Shared with the web API's parameter check, so an id ingest accepts can be fetched.
CONTROL_CHARS: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The end is written (?![\s\S]), not $: in Python's re (and so in Python JSON Schema validators)
# $ also matches before a final newline, which let "\n" through the schema but not the decoder.
_ID_PATTERN: Final = r"^[^\u0000-\u001f\u007f-\u009f]*(?![\s\S])"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS: Final = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool
    description: str


def _f(name: str, kind: FieldKind, required: bool, description: str) -> FieldSpec:
    return FieldSpec(name, kind, required, description)


_COMMON = (
    _f("event_id", "id", True, "Idempotency key: an event seen twice counts once."),
    _f("platform", "id", True, "Source platform, e.g. instagram, tiktok, youtube."),
    _f("creator_id", "id", True, "The creator whose community this event belongs to."),
)

FIELDS: Final[dict[EventKind, tuple[FieldSpec, ...]]] = {
    "post": (
        *_COMMON,
        _f("post_id", "id", True, "Post id; the same post arrives again as its counters grow."),
        _f(
            "created_at",
            "time",
            True,
            "When the post was published (RFC 3339 with zone); not after observed_at.",
        ),
        _f("observed_at", "time", True, "When these counters were read (RFC 3339 with zone)."),
        _f("likes", "count", True, "Likes at observed_at; likes + comments + shares <= 2^53 - 1."),
        _f("comments", "count", True, "Comments at observed_at."),
        _f("shares", "count", True, "Shares at observed_at."),
        _f("views", "count", False, "Views at observed_at."),
        _f(
            "followers",
            "count",
            False,
            "Creator followers at observed_at (also an audience snapshot).",
        ),
        _f("community", "tag", False, "Community tag for roll-ups."),
        _f("text", "text", False, "Post caption, at most 100,000 characters."),
    ),
    "comment": (
        *_COMMON,
        _f("comment_id", "id", True, "Comment id."),
        _f("post_id", "id", True, "The post commented on."),
        _f("text", "text", True, "Comment text, at most 100,000 characters."),
        _f("created_at", "time", True, "When the comment was written (RFC 3339 with zone)."),
        _f("author_id", "id", False, "Who wrote the comment."),
        _f("community", "tag", False, "Community tag for roll-ups."),
    ),
    "audience": (
        *_COMMON,
        _f("followers", "count", True, "Follower count at observed_at."),
        _f("observed_at", "time", True, "When the count was read (RFC 3339 with zone)."),
        _f("community", "tag", False, "Community tag for roll-ups."),
    ),
}

TOPIC_KIND: Final[dict[str, EventKind]] = {
    "social.posts": "post",
    "social.comments": "comment",
    "social.audience": "audience",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PostSnapshot:
    event_id: str
    platform: str
    creator_id: str
    post_id: str
    created_ms: int
    observed_ms: int
    likes: int
    comments: int
    shares: int
    views: int | None = None
    followers: int | None = None
    community: str | None = None
    text: str | None = None

    @property
    def time_ms(self) -> int:
        return self.observed_ms

    @property
    def interactions(self) -> int:
        return self.likes + self.comments + self.shares


@dataclass(frozen=True, slots=True, kw_only=True)
class Comment:
    event_id: str
    platform: str
    creator_id: str
    comment_id: str
    post_id: str
    text: str
    created_ms: int
    author_id: str | None = None
    community: str | None = None

    @property
    def time_ms(self) -> int:
        return self.created_ms


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowerSnapshot:
    event_id: str
    platform: str
    creator_id: str
    followers: int
    observed_ms: int
    community: str | None = None

    @property
    def time_ms(self) -> int:
        return self.observed_ms


Event = PostSnapshot | Comment | FollowerSnapshot


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a record was refused: a short machine code and a human detail."""

    code: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


# RFC 3339 date-time with a mandatory zone (fromisoformat alone accepts zone-less/basic forms),
# years 1970 to 9999 as written (a year-0001 post is an upstream bug, not an old post).
_RFC3339_BODY: Final = r"-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
_RFC3339 = re.compile(r"\d{4}" + _RFC3339_BODY)
_RFC3339_PATTERN: Final = r"^(19[7-9]\d|[2-9]\d{3})" + _RFC3339_BODY + "$"


def parse_time_ms(value: str) -> int | None:
    """RFC 3339 timestamp with zone to epoch milliseconds; None when it is not one."""
    if not _RFC3339.fullmatch(value):
        return None
    text = value
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    dot = text.find(".")
    if dot != -1:
        # Python parses at most microseconds; RFC 3339 allows any precision.
        end = dot + 1
        while end < len(text) and text[end].isdigit():
            end += 1
        text = text[:dot] + text[dot : min(end, dot + 7)] + text[end:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # integer arithmetic: timestamp() * 1000 in floats is 1 ms low for some instants
    return (parsed - _EPOCH) // _ONE_MS


def format_time_ms(ms: int) -> str:
    """Epoch milliseconds to RFC 3339 UTC (``Z``), second precision unless there are millis."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    # explicit zero padding: strftime's %Y does not pad years before 1000
    text = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else f"{text}Z"


def _check_field(spec: FieldSpec, value: Any) -> Rejection | Any:
    kind = spec.kind
    if kind == "count":
        if type(value) is not int:
            return Rejection("wrong_type", f"{spec.name} must be an integer")
        if value < 0:
            return Rejection("negative_count", f"{spec.name} must be >= 0")
        if value > MAX_COUNT:
            return Rejection("out_of_range", f"{spec.name} is too large")
        return value
    if type(value) is not str:
        return Rejection("wrong_type", f"{spec.name} must be a string")
    if kind == "time":
        ms = parse_time_ms(value)
        if ms is None:
            return Rejection("bad_timestamp", f"{spec.name} must be RFC 3339 with a zone")
        if value < "1970":  # the year as written, as the schema's pattern says it
            return Rejection("bad_timestamp", f"{spec.name} is before 1970")
        return ms
    if kind == "text":
        if len(value) > MAX_TEXT_CHARS:
            return Rejection("text_too_long", f"{spec.name} exceeds {MAX_TEXT_CHARS} characters")
        return value
    limit = MAX_ID_CHARS if kind == "id" else MAX_TAG_CHARS
    if not value or len(value) > limit:
        return Rejection("bad_value", f"{spec.name} must be 1..{limit} characters")
    if CONTROL_CHARS.search(value):
        return Rejection("bad_value", f"{spec.name} must not contain control characters")
    return value


_TIME_RENAMES = {"created_at": "created_ms", "observed_at": "observed_ms"}
_MODEL: Final[dict[EventKind, type[PostSnapshot] | type[Comment] | type[FollowerSnapshot]]] = {
    "post": PostSnapshot,
    "comment": Comment,
    "audience": FollowerSnapshot,
}


def decode_event(kind: EventKind, raw: bytes | None) -> Event | Rejection:
    """Decode and validate one record value; never raises."""
    if not raw:
        return Rejection("empty_payload", "record has no value")
    if len(raw) > MAX_PAYLOAD_BYTES:
        return Rejection("payload_too_large", f"{len(raw)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        data = loads(raw)
    except JSONDecodeError as exc:
        try:
            bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return Rejection("invalid_utf8", "payload is not valid UTF-8")
        return Rejection("invalid_json", str(exc)[:200])
    if type(data) is not dict:
        return Rejection("not_an_object", "payload must be a JSON object")
    values: dict[str, Any] = {}
    for spec in FIELDS[kind]:
        value = data.get(spec.name)
        if value is None:
            if spec.required:
                return Rejection("missing_field", spec.name)
            continue
        checked = _check_field(spec, value)
        if type(checked) is Rejection:
            return checked
        values[_TIME_RENAMES.get(spec.name, spec.name)] = checked
    if kind == "post":
        if values["created_ms"] > values["observed_ms"]:
            return Rejection("bad_timestamp", "created_at is after observed_at")
        if values["likes"] + values["comments"] + values["shares"] > MAX_COUNT:
            return Rejection("out_of_range", f"likes + comments + shares exceeds {MAX_COUNT}")
    return _MODEL[kind](**values)


def json_schema(kind: EventKind) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for one input event, generated from the field table."""
    props: dict[str, Any] = {}
    for spec in FIELDS[kind]:
        prop: dict[str, Any]
        if spec.kind == "count":
            prop = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
        elif spec.kind == "time":
            # years before 1970 are refused; a post's created_at must not be after observed_at
            prop = {"type": "string", "format": "date-time", "pattern": _RFC3339_PATTERN}
        elif spec.kind == "text":
            prop = {"type": "string", "maxLength": MAX_TEXT_CHARS}
        else:
            limit = MAX_ID_CHARS if spec.kind == "id" else MAX_TAG_CHARS
            prop = {"type": "string", "minLength": 1, "maxLength": limit, "pattern": _ID_PATTERN}
        prop["description"] = spec.description
        if not spec.required:
            # the decoder treats an explicit null like an absent optional field
            prop["type"] = [prop["type"], "null"]
        props[spec.name] = prop
    title = {"post": "Post snapshot", "comment": "Comment", "audience": "Follower snapshot"}[kind]
    topic = next(t for t, k in TOPIC_KIND.items() if k == kind)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{kind}.schema.json",
        "title": title,
        "description": f"Value of a record on the `{topic}` topic, keyed by creator_id.",
        "type": "object",
        "required": [s.name for s in FIELDS[kind] if s.required],
        "properties": props,
        "additionalProperties": True,
    }
