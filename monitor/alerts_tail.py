"""``monitor alerts tail``: follow ``monitor.alerts`` the way a brand team's consumer would.

No consumer group and no commits: every partition is assigned directly, so tailing never moves
anyone's offsets. Records are filtered by key first (the key is the brand id, as a brand team's
own consumer would filter), then by the decoded alert's brand and type.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, Final, TextIO

from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.clients import kafka_client_options
from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.slack import STATUS_BADGE
from monitor.topics import ALERTS
from schemas.codec import JSONDecodeError, dumps, loads
from schemas.records import ALERT_TYPES

log = get_logger(__name__)

POLL_MS: Final = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--brand", help="only this brand's alerts (the record key)")
    parser.add_argument("--type", choices=ALERT_TYPES, dest="alert_type", help="only this type")
    parser.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest alert still kept"
    )
    parser.add_argument("--json", action="store_true", help="one alert JSON object per line")


def wanted(
    key: bytes | None, alert: dict[str, Any], *, brand: str | None, alert_type: str | None
) -> bool:
    """Whether a record passes the filters; brand-less alerts are keyed by creator, not brand."""
    if brand is not None and (key != brand.encode() or alert.get("brand") != brand):
        return False
    return alert_type is None or alert.get("type") == alert_type


def readable(alert: dict[str, Any]) -> str:
    """One line per alert for a terminal."""
    badge = STATUS_BADGE.get(str(alert.get("status")), str(alert.get("status")))
    who = alert.get("brand") or alert.get("creator_id") or "-"
    return (
        f"{alert.get('event_time', '-')}  {badge:<11} {alert.get('severity', '-'):<8} "
        f"{alert.get('type', '-'):<16} {who:<20} {alert.get('summary', '')}  "
        f"[{alert.get('alert_id', '-')}]"
    )


async def tail_alerts(
    settings: Settings,
    *,
    brand: str | None = None,
    alert_type: str | None = None,
    from_beginning: bool = False,
    as_json: bool = False,
    out: TextIO = sys.stdout,
    stop: asyncio.Event | None = None,
) -> None:
    """Print matching alerts as they arrive until ``stop`` is set (or forever)."""
    topic = settings.topic(ALERTS)
    stop = stop or asyncio.Event()
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and not stop.is_set():
            await consumer.topics()  # refresh metadata until the topic exists
            await asyncio.sleep(0.5)
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        log.info("tailing alerts", topic=topic, brand=brand, type=alert_type)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for records in batches.values():
                for rec in records:
                    _print(rec.key, rec.value, brand, alert_type, as_json, out)
    finally:
        await consumer.stop()


def _print(
    key: bytes | None,
    value: bytes | None,
    brand: str | None,
    alert_type: str | None,
    as_json: bool,
    out: TextIO,
) -> None:
    try:
        alert = loads(value or b"")
    except JSONDecodeError:
        log.warning("skipping a record that is not JSON")
        return
    if not isinstance(alert, dict):
        log.warning("skipping a record that is not a JSON object")
        return
    if wanted(key, alert, brand=brand, alert_type=alert_type):
        out.write((dumps(alert).decode() if as_json else readable(alert)) + "\n")
        out.flush()


def main_tail(settings: Settings, args: argparse.Namespace) -> int:
    """``monitor alerts tail``: runs until Ctrl-C."""
    try:
        asyncio.run(
            tail_alerts(
                settings,
                brand=args.brand,
                alert_type=args.alert_type,
                from_beginning=args.from_beginning,
                as_json=args.json,
            )
        )
    except KeyboardInterrupt:
        return 0
    return 0
