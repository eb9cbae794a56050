"""Every Redis key name and TTL in one place.

All keys of one creator (or community, or brand) share a Redis Cluster hash tag ``{...}`` so a
creator's state lives on one slot. Names are built by functions, never by pasting user input into a
pattern: ids are only ever used as exact key parts, never in KEYS/SCAN. An id inside a tag is
escaped (:func:`key_part`), so it cannot close the tag and reach another id's keys; an id used
after the tag (a post's snapshots, ``:ps:<post_id>``) is always the key's last part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from monitor.core.units import MINUTE_MS

# Creator detectors judge closed steps of this size; the Lua script marks creators per step.
DETECT_STEP_MS: Final = 5 * MINUTE_MS
# Due scores of changed creators: version - 2**50, below every watermark, oldest change first.
DUE_CHANGED: Final = -(2**50)
# Slack on top of retention for hour and minute buckets, dedup sets and post snapshots (wall-clock
# TTLs). Minute buckets live as long as hour buckets: the creator detectors read a step's last
# hour of them however far ingest has run ahead (README: replay independence).
TTL_SLACK_S: Final = 24 * 3600
ALERT_STREAM_MAXLEN: Final = 10_000
EVIDENCE_KEEP: Final = 20


_ESCAPES: Final = str.maketrans({"%": "%25", "{": "%7B", "}": "%7D"})


def key_part(id_: str) -> str:
    """An id as it appears inside a hash tag: ``%``, ``{`` and ``}`` percent-escaped.

    Without ``}`` an id cannot end its tag early, so ``c:{<id>}`` names one creator and nothing
    else; ids without these three characters (all real ones) keep their plain key names.
    store/lua/apply_batch.lua escapes the same way.
    """
    if "%" in id_ or "{" in id_ or "}" in id_:
        return id_.translate(_ESCAPES)
    return id_


@dataclass(frozen=True, slots=True)
class Keys:
    """Key builder bound to one prefix (namespace + ``sm:``)."""

    prefix: str

    # --- global -------------------------------------------------------------------------------
    @property
    def watermark(self) -> str:
        return f"{self.prefix}wm"

    @property
    def offsets(self) -> str:
        """Hash ``topic:partition`` -> last offset applied (the exactly-once guard)."""
        return f"{self.prefix}offsets"

    @property
    def partition_watermarks(self) -> str:
        """Hash ``topic:partition`` -> newest event time seen on that partition."""
        return f"{self.prefix}pwm"

    @property
    def partition_walls(self) -> str:
        """Hash ``topic:partition`` -> wall-clock ms of the last batch applied from it."""
        return f"{self.prefix}pwall"

    @property
    def first_event(self) -> str:
        """The oldest event time ever applied: where the detectors' first pass starts."""
        return f"{self.prefix}first"

    def dirty_creators(self, step: int) -> str:
        """Set of creators whose state changed within one detector step (``DETECT_STEP_MS``)."""
        return f"{self.prefix}dirty:{step}"

    @property
    def stats(self) -> str:
        return f"{self.prefix}stats"

    @property
    def creators(self) -> str:
        """Sorted set of every creator, scored by its newest event time."""
        return f"{self.prefix}creators"

    @property
    def communities(self) -> str:
        return f"{self.prefix}communities"

    @property
    def refreshed(self) -> str:
        """Hash: ``progress`` (``watermark:applied:late``) the documents last fully caught up to."""
        return f"{self.prefix}lb:refreshed"

    @property
    def due(self) -> str:
        """Sorted set creator -> when its metric document is due (store/lua/leaderboard.lua).

        Scores below zero: its state changed (``DUE_CHANGED + version``, oldest first); otherwise
        the watermark at which a window edge passes its data.
        """
        return f"{self.prefix}lb:due"

    @property
    def version(self) -> str:
        """Counter bumped by every batch that changed state: orders the writers of documents."""
        return f"{self.prefix}lb:ver"

    @property
    def rules(self) -> str:
        """Hash brand -> public rule JSON (webhook masked), mirrored by the workers."""
        return f"{self.prefix}rules"

    @property
    def alerts_stream(self) -> str:
        return f"{self.prefix}alerts"

    @property
    def deadletter_counts(self) -> str:
        return f"{self.prefix}deadletters"

    def leaderboard(
        self, metric: str, *, tier: str | None = None, community: str | None = None
    ) -> str:
        if tier is not None:
            return f"{self.prefix}lb:{metric}:tier:{tier}"
        if community is not None:
            return f"{self.prefix}lb:{metric}:g:{{{community}}}"
        return f"{self.prefix}lb:{metric}"

    # --- per creator --------------------------------------------------------------------------
    def creator(self, creator_id: str) -> str:
        """Base of a creator's keys; the Lua script appends the same suffixes as below."""
        return f"{self.prefix}c:{{{key_part(creator_id)}}}"

    def creator_meta(self, creator_id: str) -> str:
        return f"{self.creator(creator_id)}:meta"

    def creator_doc(self, creator_id: str) -> str:
        """The creator's metrics as last computed (JSON), read by leaderboard listings."""
        return f"{self.creator(creator_id)}:doc"

    def community(self, community: str) -> str:
        return f"{self.prefix}g:{{{key_part(community)}}}"

    def brand(self, brand: str) -> str:
        return f"{self.prefix}b:{{{key_part(brand)}}}"

    # --- brands (read by the web view) ---------------------------------------------------------
    @property
    def brands(self) -> str:
        """Sorted set of every brand with a mention, scored by its newest mention time."""
        return f"{self.prefix}brands"

    def brand_minutes(self, brand: str, day_index: int) -> str:
        """Hash of one event-time day: ``<minute>``, ``cn:<minute>``, ``neg:<minute>`` -> counts."""
        return f"{self.brand(brand)}:d:{day_index}"

    def brand_creators(self, brand: str, day_index: int) -> str:
        """Hash of one event-time day: creator_id -> mentions."""
        return f"{self.brand(brand)}:cr:{day_index}"

    def brand_evidence(self, brand: str) -> str:
        """Sorted set of the newest mentions (JSON), scored by event time."""
        return f"{self.brand(brand)}:evidence"

    def brand_state(self, brand: str) -> str:
        """Hash the detector keeps: ``baseline``, ``window_min``, ``updated_ms``."""
        return f"{self.brand(brand)}:state"

    def brand_hours(self, brand: str, day_index: int) -> str:
        """Hash of one event-time day: ``cn:<hour index>`` and ``neg:<hour index>`` -> counts."""
        return f"{self.brand(brand)}:hd:{day_index}"

    def brand_minute_evidence(self, brand: str, minute_index: int) -> str:
        """Sorted set of one minute's top mentions (JSON): a spike alert's evidence."""
        return f"{self.brand(brand)}:ev:{minute_index}"

    def brand_mentioners(self, brand: str) -> str:
        """Sorted set creator_id -> newest event time the creator mentioned the brand."""
        return f"{self.brand(brand)}:creators"

    # --- detector (monitor/detect) -------------------------------------------------------
    @property
    def detect_minute(self) -> str:
        """The last minute index the brand pass judged."""
        return f"{self.prefix}det:minute"

    @property
    def detect_step(self) -> str:
        """The last step index (``DETECT_STEP_MS``) the creator pass judged."""
        return f"{self.prefix}det:step"

    @property
    def detect_brand_spikes(self) -> str:
        """Hash brand -> mention-spike state (JSON: baseline, lifecycle, last minute judged)."""
        return f"{self.prefix}det:brand"

    @property
    def detect_brand_sentiment(self) -> str:
        """Hash brand -> sentiment-shift lifecycle state (JSON)."""
        return f"{self.prefix}det:brand_sent"

    @property
    def detect_creators(self) -> str:
        """Hash creator_id -> the creator detectors' state (JSON: lifecycles, last tier)."""
        return f"{self.prefix}det:creator"

    @property
    def detect_firing(self) -> str:
        """Set of creators with an alert firing: judged every step, changed or not."""
        return f"{self.prefix}det:firing"

    @property
    def detect_outbox(self) -> str:
        """List of alert records (JSON) committed with the detector state, not yet sent."""
        return f"{self.prefix}det:outbox"

    @property
    def detect_sent(self) -> str:
        """Set of ``alert_id|status|severity|event_time`` markers already sent to Kafka."""
        return f"{self.prefix}det:sent"

    # --- operations (monitor/ops) ----------------------------------------------------------
    @property
    def ops_seen(self) -> str:
        """Hash ``group|topic:partition`` -> ``committed:since_ms``: when a partition last moved."""
        return f"{self.prefix}ops:seen"

    @property
    def ops_deadletter_snapshots(self) -> str:
        """JSON list of ``[wall_ms, {code: total}]``: dead-letter totals as ``monitor status`` read
        them, so the last five minutes are a difference of two snapshots."""
        return f"{self.prefix}ops:dl"

    # --- silences (monitor/silence) ------------------------------------------------------------
    @property
    def silences(self) -> str:
        """Hash silence id -> silence JSON; expired ones pruned ``SILENCE_KEEP_EXPIRED_S`` after."""
        return f"{self.prefix}silences"

    # --- Slack notifier ---------------------------------------------------------------------
    def notified(self, marker: str) -> str:
        """Set (value "1", TTL ``NOTIFIED_TTL_S``) once an alert record reached Slack or stdout.

        ``marker`` is ``alert_id|status|severity|event_time``: one alert record, so a restart
        skips what was delivered while repeats and escalations of an episode still go out.
        """
        return f"{self.prefix}notified:{marker}"

    def inhibiting(self, brand: str) -> str:
        """The brand's critical ``mention_spike`` alert id while it fires (notify/inhibit.py)."""
        return f"{self.brand(brand)}:inhibit"


def namespace_pattern(namespace: str) -> str:
    """SCAN pattern of every key of a namespace (its ``sm:`` keys and any other), to drop them."""
    return f"{namespace}*"


def hour_hash(base: str, day_index: int) -> str:
    """Hour buckets of one event-time day: fields ``<metric>:<hour index>``."""
    return f"{base}:h:{day_index}"


def minute_hash(base: str, hour_index: int) -> str:
    """Minute buckets of one event-time hour: fields ``<metric>:<minute index>``."""
    return f"{base}:m:{hour_index}"


def followers_zset(base: str) -> str:
    return f"{base}:fs"


def posts_hash(base: str) -> str:
    return f"{base}:posts"


def posts_by_created(base: str) -> str:
    return f"{base}:pct"


def post_snapshots(base: str, post_id: str) -> str:
    """Sorted set of a post's snapshots ``"observed_ms:interactions"``, scored by observed time."""
    return f"{base}:ps:{post_id}"


def members_set(base: str) -> str:
    return f"{base}:members"


# The notifier's delivered-alert markers outlive the alerts topic's default 7-day retention, so
# any record a restart (or a group offset reset) can re-read is still recognised as delivered.
NOTIFIED_TTL_S: Final = 8 * 24 * 3600
# The detector's sent markers: longer than any outbox can wait for a broker to come back.
DETECT_SENT_TTL_S: Final = 30 * 86400
# monitor status' history: a stall or a dead-letter window needs only minutes of it.
OPS_HISTORY_TTL_S: Final = 24 * 3600
# Expired silences stay listed (as expired) this long after their end, for the record.
SILENCE_KEEP_EXPIRED_S: Final = 24 * 3600
# A brand's critical spike stops inhibiting this long after its last critical record, should the
# episode's resolved record never come.
INHIBIT_TTL_S: Final = 24 * 3600
