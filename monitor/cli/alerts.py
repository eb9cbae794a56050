"""``monitor alerts tail``: follow ``monitor.alerts`` the way a brand team's consumer would.

No consumer group and no commits: every partition is assigned directly, so tailing never moves
anyone's offsets. Records are filtered by key first (the key is the brand id, as a brand team's
own consumer would filter), then by the decoded alert's brand and type.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any, Final, TextIO

from aiokafka import AIOKafkaConsumer

from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import ALERTS
from monitor.logs import get_logger
from monitor.notify.slack import STATUS_BADGE
from monitor.settings import Settings
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
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Print matching alerts as they arrive until ``stop`` is set (or forever)."""
    topic = settings.topic(ALERTS)
    stop = stop or asyncio.Event()
    out = out or sys.stdout
    # Subscribing without a group gets every partition and commits nothing; with no committed
    # offsets, the reset policy alone decides where reading starts.
    consumer = AIOKafkaConsumer(
        topic,
        **kafka_client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
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
    """``monitor alerts tail``: runs until Ctrl-C or SIGTERM (or its reader goes away)."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await tail_alerts(
            settings,
            brand=args.brand,
            alert_type=args.alert_type,
            from_beginning=args.from_beginning,
            as_json=args.json,
            stop=stop,
        )

    try:
        asyncio.run(main())
    except BrokenPipeError:
        # `monitor alerts tail | head`: the reader left; silence the flush at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
