"""Decoding, routing and grouping of alerts before delivery (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition

from monitor.brands.rules import BrandRule
from monitor.notify.dispatch import (
    Groups,
    Route,
    choose_route,
    parse_alert,
    webhooks_in_use,
)
from monitor.settings import Secret
from schemas.codec import dumps
from tests.unit.notify.samples import TP, make_alert, pending

DEFAULT = Secret("https://hooks.example/services/T0/B0/default")
ACME = Secret("https://hooks.example/services/T1/B1/acme")


def rule(brand_id: str = "acme", **changes: Any) -> BrandRule:
    return BrandRule(brand_id=brand_id, name=f"Brand {brand_id}", terms=("word",), **changes)


# --- decoding -----------------------------------------------------------------------------------


def test_parse_alert_keeps_contract_fields_and_names_what_is_wrong() -> None:
    alert = make_alert()
    raw = dumps({**alert.to_dict(), "extra": "ignored"})
    assert parse_alert(raw) == alert
    minimal = parse_alert(
        dumps({"alert_id": "x", "type": "mention_spike", "status": "firing", "severity": "info",
               "summary": "s"})
    )  # fmt: skip
    assert minimal.brand is None
    assert minimal.evidence == {}
    for bad, why in [
        (b"not json", "not valid JSON"),
        (b"[1]", "not a JSON object"),
        (dumps({"type": "mention_spike"}), "lacks alert_id"),
        (dumps({**alert.to_dict(), "type": "weird"}), "unknown alert type"),
        (dumps({**alert.to_dict(), "status": "open"}), "unknown alert status"),
        (dumps({**alert.to_dict(), "value": "many"}), "value must be a number"),
        (None, "no value"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_alert(bad)


# --- routing ------------------------------------------------------------------------------------

ACME_HOOKED = {"acme": rule(slack_webhook=ACME)}
ACME_BARE = {"acme": rule()}


@pytest.mark.parametrize(
    ("alert", "rules", "default", "route"),
    [
        (make_alert(), ACME_HOOKED, DEFAULT, Route(ACME, "brand")),
        (make_alert(), ACME_HOOKED, None, Route(ACME, "brand")),
        (make_alert(), ACME_BARE, DEFAULT, Route(DEFAULT, "default")),
        (make_alert(brand="nobody"), ACME_HOOKED, DEFAULT, Route(DEFAULT, "default")),
        (make_alert(brand=None, creator_id="c"), ACME_HOOKED, DEFAULT, Route(DEFAULT, "default")),
        (make_alert(), ACME_BARE, None, Route(None, "stdout")),
        (make_alert(brand=None), {}, None, Route(None, "stdout")),
    ],
    ids=["brand", "brand-no-default", "rule-without-hook", "unknown-brand", "brandless",
         "stdout", "brandless-stdout"],
)  # fmt: skip
def test_an_alert_goes_to_its_brands_webhook_else_the_default_else_stdout(
    alert: Any, rules: dict[str, BrandRule], default: Secret | None, route: Route
) -> None:
    assert choose_route(alert, rules, default) == route


@pytest.mark.parametrize(
    ("changes", "alert", "routed"),
    [
        ({"alert_types": ("mention_spike",)}, make_alert(), True),
        ({"alert_types": ("mention_spike",)}, make_alert(type="sentiment_shift"), False),
        ({"min_severity": "critical"}, make_alert(severity="warning"), False),
        ({"min_severity": "critical"}, make_alert(severity="critical"), True),
        ({"min_severity": "warning"}, make_alert(severity="info"), False),
        ({"min_severity": "warning"}, make_alert(severity="warning"), True),
        ({}, make_alert(severity="info", type="engagement_spike"), True),
    ],
)
def test_a_brands_rule_filters_by_type_and_lowest_severity(
    changes: dict[str, Any], alert: Any, routed: bool
) -> None:
    route = choose_route(alert, {"acme": rule(slack_webhook=ACME, **changes)}, DEFAULT)
    assert (route is not None) is routed
    if route is not None:
        assert route == Route(ACME, "brand")


def test_every_webhook_a_route_can_lead_to_is_known_for_redaction() -> None:
    rules = {"acme": rule(slack_webhook=ACME), "zed": rule("zed")}
    assert webhooks_in_use(rules, DEFAULT) == [ACME, DEFAULT]
    assert webhooks_in_use(rules, None) == [ACME]
    assert webhooks_in_use({}, None) == []


# --- grouping -----------------------------------------------------------------------------------


def test_a_group_is_due_group_wait_after_its_first_alert() -> None:
    groups = Groups(wait_s=30.0, max_group=10)
    assert groups.next_due() is None
    groups.add(pending(1), now=100.0)
    groups.add(pending(2), now=120.0)  # joins; does not push the group back
    assert groups.next_due() == 130.0
    assert [i.alert.alert_id for i in groups.take()] == ["a1", "a2"]
    assert groups.next_due() is None
    assert len(groups) == 0


def test_a_full_group_is_due_at_once_and_goes_out_max_group_at_a_time() -> None:
    groups = Groups(wait_s=30.0, max_group=3)
    for n in range(7):
        groups.add(pending(n), now=100.0 + n)
    assert groups.next_due() == 102.0  # full at its third alert
    batches = [[i.alert.alert_id for i in groups.take()] for _ in range(3)]
    assert batches == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]
    assert groups.next_due() is None


def test_brands_never_share_a_group_and_the_group_due_first_goes_first() -> None:
    groups = Groups(wait_s=10.0, max_group=10)
    groups.add(pending(1, "zed"), now=5.0)
    groups.add(pending(2, "acme"), now=1.0)
    groups.add(pending(3, None), now=3.0)
    groups.add(pending(4, "zed"), now=6.0)
    taken = [[i.alert.alert_id for i in groups.take()] for _ in range(3)]
    assert taken == [["a2"], ["a3"], ["a1", "a4"]]


def test_revoked_partitions_drop_their_waiting_alerts_but_not_others() -> None:
    other = TopicPartition("monitor.alerts", 1)
    groups = Groups(wait_s=10.0, max_group=10)
    mine, theirs, both = pending(1), pending(2, tp=other), pending(3)
    both.refs.append((other, 9))  # a duplicate record on the other partition
    for item in (mine, theirs, both):
        groups.add(item, now=0.0)
    assert groups.release({TP}) == [mine]
    assert both.refs == [(other, 9)]
    assert [i.alert.alert_id for i in groups.take()] == ["a2", "a3"]


def test_an_alert_in_flight_is_kept_when_its_partition_goes() -> None:
    groups = Groups(wait_s=10.0, max_group=10)
    item = pending(1)
    item.inflight = True
    groups.add(item, now=0.0)
    assert groups.release({TP}) == []
    assert len(groups) == 1


def test_a_held_group_waits_for_its_floor_even_when_full_and_a_critical_pulls_it_forward() -> None:
    groups = Groups(wait_s=1, max_group=2)
    groups.add(pending(0), now=100, not_before=500)
    groups.add(pending(1), now=101, not_before=500)  # full, but quiet hours still hold it
    assert groups.next_due() == 500
    later = Groups(wait_s=1, max_group=10)
    later.add(pending(0), now=100, not_before=500)
    later.add(pending(1), now=102)  # not held (a critical one): due as usual, the held with it
    assert later.next_due() == 103
    assert [p.alert.alert_id for p in later.take()] == ["a0", "a1"]


def test_the_silence_mark_is_read_and_only_unsilenced_records_omit_it() -> None:
    plain = make_alert()
    assert "silenced_by" not in plain.to_dict()  # records without a silence read as before
    marked = make_alert(silenced_by="0f3a")
    assert parse_alert(marked.to_json()).silenced_by == "0f3a"
    assert parse_alert(plain.to_json()).silenced_by is None
    with pytest.raises(ValueError, match="silenced_by"):
        parse_alert(dumps({**plain.to_dict(), "silenced_by": 7}))
