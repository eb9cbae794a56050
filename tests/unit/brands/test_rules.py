"""Brand rules: TOML parsing, validation messages, secrecy of the webhook, the topic record."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.brands.rules import (
    MASK,
    BrandRule,
    GrowthOverrides,
    SpikeOverrides,
    rule_public_dict,
    rule_to_json,
)
from monitor.brands.validate import RuleError, parse_rules_toml, rule_from_json
from monitor.settings import Secret

WEBHOOK = "https://hooks.slack.com/services/T000/B000/TOPSECRET"

CONTRACT_EXAMPLE = f"""
[brands.acme]
name = "Acme Shoes"
terms = ["acme", "acme shoes", "#acmeshoes", "@acme"]   # case-insensitive, whole words
exclude = ["acme corp lawsuit"]                          # a text with any of these is not a mention
slack_webhook = "{WEBHOOK}"
watch_creators = ["instagram:alice"]
[brands.acme.spike]          # optional overrides of the defaults
min_count = 10
"""

FULL_RULE = BrandRule(
    brand_id="acme",
    name="Acme Shoes",
    terms=("acme", "acme shoes", "#acmeshoes", "@acme"),
    exclude=("acme corp lawsuit",),
    slack_webhook=Secret(WEBHOOK),
    watch_creators=("instagram:alice",),
    spike=SpikeOverrides(min_count=10),
)


def brand_toml(brand: str = "acme", /, **fields: str | None) -> str:
    """One ``[brands.<brand>]`` table; values are TOML source, None leaves a default field out."""
    values: dict[str, str | None] = {"name": '"Acme"', "terms": '["acme"]', **fields}
    body = "\n".join(f"{key} = {value}" for key, value in values.items() if value is not None)
    return f'[brands."{brand}"]\n{body}\n'


def problems_of(text: str) -> tuple[str, ...]:
    with pytest.raises(RuleError) as caught:
        parse_rules_toml(text)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_contract_example_parses() -> None:
    assert parse_rules_toml(CONTRACT_EXAMPLE) == {"acme": FULL_RULE}


def test_minimal_brand_gets_defaults() -> None:
    rules = parse_rules_toml(brand_toml())
    assert rules == {"acme": BrandRule(brand_id="acme", name="Acme", terms=("acme",))}
    acme = rules["acme"]
    assert acme.exclude == ()
    assert acme.slack_webhook is None
    assert acme.watch_creators == ()
    assert acme.spike == SpikeOverrides()
    assert acme.growth == GrowthOverrides()
    assert acme.alert_types is None
    assert acme.min_severity is None


@pytest.mark.parametrize("text", ["", "# no brands yet\n", "[brands]\n"])
def test_no_brands(text: str) -> None:
    assert parse_rules_toml(text) == {}


def test_several_brands() -> None:
    text = brand_toml("acme") + brand_toml("zenith", name='"Zenith"', terms='["zenith"]')
    assert set(parse_rules_toml(text)) == {"acme", "zenith"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"spike": "{threshold = 1e-4}"}, {"spike": SpikeOverrides(threshold=1e-4)}),
        (
            {"spike": "{min_count = 3, window_min = 15, absolute_threshold = 50}"},
            {"spike": SpikeOverrides(min_count=3, window_min=15, absolute_threshold=50)},
        ),
        ({"growth": "{min_pct = 10}"}, {"growth": GrowthOverrides(min_pct=10.0)}),
        (
            {"growth": "{min_pct = 0.5, min_abs = 1}"},
            {"growth": GrowthOverrides(min_pct=0.5, min_abs=1)},
        ),
        (
            {"alert_types": '["mention_spike", "sentiment_shift", "mention_spike"]'},
            {"alert_types": ("mention_spike", "sentiment_shift")},
        ),
        ({"min_severity": '"critical"'}, {"min_severity": "critical"}),
        (
            {"slack_webhook": '"http://localhost:9000/hook"'},
            {"slack_webhook": "http://localhost:9000/hook"},
        ),
        ({"watch_creators": '["a:x", "a:x", "b:y"]'}, {"watch_creators": ("a:x", "b:y")}),
        ({"terms": '["Acmé", "#ab", "@ab", "a b"]'}, {"terms": ("Acmé", "#ab", "@ab", "a b")}),
        ({"exclude": "[]"}, {"exclude": ()}),
    ],
)
def test_valid_fields(fields: dict[str, str], expected: dict[str, object]) -> None:
    acme = parse_rules_toml(brand_toml(**fields))["acme"]
    for name, value in expected.items():
        assert getattr(acme, name) == value


def test_growth_overrides_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        GrowthOverrides(0.5, 1)  # type: ignore[call-arg]  # proving kw_only


@pytest.mark.parametrize("brand_id", ["acme", "a", "0", "acme-shoes_2", "a" * 64, "9lives"])
def test_valid_brand_ids(brand_id: str) -> None:
    assert set(parse_rules_toml(brand_toml(brand_id))) == {brand_id}


@pytest.mark.parametrize(
    "brand_id", ["Acme", "-acme", "_acme", "acme shoes", "a" * 65, "acmé", "", "acme.shoes"]
)
def test_invalid_brand_ids(brand_id: str) -> None:
    assert problems_of(brand_toml(brand_id)) == (
        f"brand {brand_id!r}: field 'id': brand ids must match ^[a-z0-9][a-z0-9_-]{{0,63}}$",
    )


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"name": None}, "name", "is required"),
        ({"name": '""'}, "name", "must not be blank"),
        ({"name": '"   "'}, "name", "must not be blank"),
        ({"name": "3"}, "name", "must be a string, got an integer"),
        ({"terms": None}, "terms", "is required"),
        ({"terms": "[]"}, "terms", "must list at least one term"),
        ({"terms": '"acme"'}, "terms", "must be an array of strings, got a string"),
        ({"terms": '["acme", 3]'}, "terms", "item 2 must be a string, got an integer"),
        ({"terms": '["acme", ["x"]]'}, "terms", "item 2 must be a string, got an array"),
        ({"terms": '["a"]'}, "terms", "term 'a' is a single character and would match"),
        ({"terms": '["é"]'}, "terms", "term 'é' is a single character"),
        ({"terms": '["#"]'}, "terms", "term '#' has no letters or digits"),
        ({"terms": '["!!!"]'}, "terms", "term '!!!' has no letters or digits"),
        ({"terms": '["🔥"]'}, "terms", "term '🔥' has no letters or digits"),
        ({"terms": '["@x"]'}, "terms", "term '@x' has only one letter or digit"),
        ({"terms": '["#x"]'}, "terms", "term '#x' has only one letter or digit"),
        ({"terms": '[""]'}, "terms", "term '' is empty"),
        ({"terms": '["  "]'}, "terms", "term '  ' is empty"),
        ({"exclude": '["a"]'}, "exclude", "phrase 'a' is a single character"),
        ({"exclude": '[""]'}, "exclude", "phrase '' is empty"),
        ({"exclude": '"lawsuit"'}, "exclude", "must be an array of strings"),
        ({"colour": '"red"'}, "colour", "unknown key; expected one of alert_types"),
        ({"spike": "3"}, "spike", "must be a table, got an integer"),
        ({"spike": "{foo = 1}"}, "spike.foo", "unknown key"),
        ({"spike": "{min_count = 0}"}, "spike.min_count", "must be an integer >= 1, got 0"),
        ({"spike": "{min_count = -1}"}, "spike.min_count", "must be an integer >= 1"),
        ({"spike": "{min_count = 1.5}"}, "spike.min_count", "must be an integer >= 1, got 1.5"),
        ({"spike": "{min_count = true}"}, "spike.min_count", "must be an integer >= 1, got True"),
        ({"spike": '{min_count = "10"}'}, "spike.min_count", "must be an integer >= 1"),
        ({"spike": "{window_min = 0}"}, "spike.window_min", "must be an integer >= 1"),
        ({"spike": "{absolute_threshold = 0}"}, "spike.absolute_threshold", ">= 1"),
        ({"spike": "{threshold = 0}"}, "spike.threshold", "p-value between 0 and 1"),
        ({"spike": "{threshold = 1}"}, "spike.threshold", "p-value between 0 and 1"),
        ({"spike": "{threshold = 1.5}"}, "spike.threshold", "got 1.5"),
        ({"spike": "{threshold = -0.01}"}, "spike.threshold", "p-value"),
        ({"spike": "{threshold = nan}"}, "spike.threshold", "p-value"),
        ({"spike": '{threshold = "0.01"}'}, "spike.threshold", "p-value"),
        ({"growth": "{min_pct = 0}"}, "growth.min_pct", "must be a number > 0, got 0"),
        ({"growth": "{min_pct = -5.0}"}, "growth.min_pct", "must be a number > 0"),
        ({"growth": "{min_pct = inf}"}, "growth.min_pct", "must be a number > 0"),
        ({"growth": '{min_pct = "5"}'}, "growth.min_pct", "must be a number > 0"),
        ({"growth": "{min_abs = 0}"}, "growth.min_abs", "must be an integer >= 1"),
        ({"growth": "{bar = 1}"}, "growth.bar", "unknown key; expected one of min_pct, min_abs"),
        ({"alert_types": "[]"}, "alert_types", "must list at least one alert type"),
        ({"alert_types": '["bogus"]'}, "alert_types", "unknown alert type 'bogus'"),
        ({"alert_types": '"mention_spike"'}, "alert_types", "must be an array of strings"),
        ({"min_severity": '"high"'}, "min_severity", "must be one of info, warning, critical"),
        ({"min_severity": "2"}, "min_severity", "must be one of info, warning, critical"),
        ({"watch_creators": '"instagram:alice"'}, "watch_creators", "must be an array"),
        ({"watch_creators": '[""]'}, "watch_creators", "must not be blank"),
        ({"watch_creators": "[1]"}, "watch_creators", "item 1 must be a string"),
        ({"slack_webhook": "42"}, "slack_webhook", "must be a string URL, got an integer"),
    ],
)
def test_invalid_field(fields: dict[str, str | None], field: str, fragment: str) -> None:
    (problem,) = problems_of(brand_toml(**fields))
    assert problem.startswith(f"brand 'acme': field {field!r}: ")
    assert fragment in problem


def test_single_character_term_message_in_full() -> None:
    assert problems_of(brand_toml(terms='["acme", "a"]')) == (
        "brand 'acme': field 'terms': term 'a' is a single character and would match almost"
        " everything",
    )


@pytest.mark.parametrize(
    "webhook",
    [
        "ftp://hooks.example/TOPSECRET",
        "hooks.slack.com/services/TOPSECRET",
        "https://?token=TOPSECRET",
        "https:///TOPSECRET",
        "https://hooks.slack.com/TOP SECRET",
        "https://[TOPSECRET/x",
        "TOPSECRET",
        "",
    ],
)
def test_invalid_webhook_is_never_quoted(webhook: str) -> None:
    (problem,) = problems_of(brand_toml(slack_webhook=orjson.dumps(webhook).decode()))
    assert problem.startswith("brand 'acme': field 'slack_webhook': must be an http")
    assert "SECRET" not in problem


def test_valid_webhook_stays_out_of_other_errors_and_reprs() -> None:
    problems = problems_of(CONTRACT_EXAMPLE.replace('"acme shoes"', '"a"'))
    assert len(problems) == 1
    assert "TOPSECRET" not in "\n".join(problems)
    rule = parse_rules_toml(CONTRACT_EXAMPLE)["acme"]
    assert "TOPSECRET" not in repr(rule)
    assert "TOPSECRET" not in str(rule)
    assert "TOPSECRET" not in repr(parse_rules_toml(CONTRACT_EXAMPLE))
    assert isinstance(rule.slack_webhook, Secret)
    assert rule.slack_webhook.reveal() == WEBHOOK


def test_all_problems_are_collected() -> None:
    text = (
        "top = 1\n"
        + brand_toml(
            "Acme",
            name='""',
            terms='["a", "#", "ok", 3]',
            slack_webhook='"ftp://TOPSECRET"',
            colour='"red"',
            spike="{min_count = 0, threshold = 2}",
        )
        + brand_toml("zenith", terms=None)
        + brand_toml("fine")
    )
    problems = problems_of(text)
    assert problems == (
        "rules: unknown top-level key 'top'; brand rules go in [brands.<id>] tables",
        "brand 'Acme': field 'id': brand ids must match ^[a-z0-9][a-z0-9_-]{0,63}$",
        "brand 'Acme': field 'colour': unknown key; expected one of alert_types, exclude, growth,"
        " min_severity, name, quiet_hours, slack_webhook, spike, terms, timezone, watch_creators",
        "brand 'Acme': field 'name': must not be blank",
        "brand 'Acme': field 'terms': item 4 must be a string, got an integer",
        "brand 'Acme': field 'terms': term 'a' is a single character and would match almost"
        " everything",
        "brand 'Acme': field 'terms': term '#' has no letters or digits",
        "brand 'Acme': field 'slack_webhook': must be an http:// or https:// URL (value not shown:"
        " it is a secret)",
        "brand 'Acme': field 'spike.min_count': must be an integer >= 1, got 0",
        "brand 'Acme': field 'spike.threshold': must be a p-value between 0 and 1 (exclusive),"
        " got 2",
        "brand 'zenith': field 'terms': is required: a list of at least one term",
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[brands.acme\nname = 1", "rules: not valid TOML: "),
        ("brands = 3", "rules: 'brands' must hold [brands.<id>] tables, got an integer"),
        ("[brands]\nacme = 3", "brand 'acme': field '*': [brands.acme] must be a table"),
    ],
)
def test_malformed_files(text: str, fragment: str) -> None:
    (problem,) = problems_of(text)
    assert problem.startswith(fragment)


def test_rule_error_is_a_value_error() -> None:
    assert issubclass(RuleError, ValueError)
    assert RuleError("one", "two").problems == ("one", "two")


ROUND_TRIP_RULES = [
    BrandRule(brand_id="a", name="A", terms=("ab",)),
    FULL_RULE,
    BrandRule(
        brand_id="zenith-2",
        name="Zénith ✨",
        terms=("zénith", "#zen", "@zenith_co", "zen ith"),
        exclude=("zen garden", "zenith bank"),
        watch_creators=("tiktok:bob", "instagram:carol"),
        spike=SpikeOverrides(min_count=5, window_min=30, threshold=1e-6, absolute_threshold=200),
        growth=GrowthOverrides(min_pct=2.5, min_abs=1000),
        alert_types=("mention_spike", "engagement_spike"),
        min_severity="warning",
    ),
]


@pytest.mark.parametrize("rule", ROUND_TRIP_RULES, ids=lambda r: r.brand_id)
def test_json_round_trip(rule: BrandRule) -> None:
    data = rule_to_json(rule)
    assert isinstance(data, bytes)
    back = rule_from_json(rule.brand_id, data)
    assert back == rule
    assert rule_to_json(back) == data


def test_json_record_keeps_the_webhook_and_public_view_masks_it() -> None:
    assert orjson.loads(rule_to_json(FULL_RULE))["slack_webhook"] == WEBHOOK
    public = rule_public_dict(FULL_RULE)
    assert public["slack_webhook"] == MASK == "***"
    assert "TOPSECRET" not in orjson.dumps(public).decode()
    assert rule_public_dict(ROUND_TRIP_RULES[0])["slack_webhook"] is None


def test_public_dict_shape() -> None:
    assert rule_public_dict(ROUND_TRIP_RULES[2]) == {
        "brand_id": "zenith-2",
        "name": "Zénith ✨",
        "terms": ["zénith", "#zen", "@zenith_co", "zen ith"],
        "exclude": ["zen garden", "zenith bank"],
        "slack_webhook": None,
        "watch_creators": ["tiktok:bob", "instagram:carol"],
        "spike": {"min_count": 5, "window_min": 30, "threshold": 1e-6, "absolute_threshold": 200},
        "growth": {"min_pct": 2.5, "min_abs": 1000},
        "alert_types": ["mention_spike", "engagement_spike"],
        "min_severity": "warning",
        "quiet_hours": None,
        "timezone": None,
    }


def test_record_without_optional_fields() -> None:
    assert rule_from_json("acme", b'{"name": "Acme", "terms": ["acme"]}') == BrandRule(
        brand_id="acme", name="Acme", terms=("acme",)
    )


@pytest.mark.parametrize(
    ("key", "data", "fragment"),
    [
        ("acme", b"{not json", "brand 'acme': field '*': record is not valid JSON"),
        ("acme", b"[1, 2]", "brand 'acme': field '*': [brands.acme] must be a table"),
        ("acme", b'{"brand_id": "other", "name": "A", "terms": ["acme"]}', "field 'brand_id'"),
        ("acme", b'{"name": "A", "terms": ["a"]}', "brand 'acme': field 'terms': term 'a'"),
        ("acme", b'{"name": "A", "terms": ["ab"], "extra": 1}', "field 'extra': unknown key"),
        ("Bad Id", b'{"name": "A", "terms": ["ab"]}', "brand 'Bad Id': field 'id'"),
        (
            "acme",
            b'{"name": "A", "terms": ["ab"], "slack_webhook": "ftp://TOPSECRET"}',
            "brand 'acme': field 'slack_webhook': must be an http",
        ),
    ],
)
def test_invalid_records(key: str, data: bytes, fragment: str) -> None:
    with pytest.raises(RuleError) as caught:
        rule_from_json(key, data)
    assert fragment in str(caught.value)
    assert "TOPSECRET" not in str(caught.value)


_WORD = st.from_regex(r"[a-z][a-z0-9]{1,8}", fullmatch=True)
_TERM = st.builds(
    lambda prefix, words: prefix + " ".join(words),
    st.sampled_from(["", "#", "@"]),
    st.lists(_WORD, min_size=1, max_size=3),
)


@given(
    brand_id=st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True),
    name=st.text(min_size=1).filter(str.strip),
    terms=st.lists(_TERM, min_size=1, max_size=5).map(tuple),
    exclude=st.lists(_TERM, max_size=3).map(tuple),
    min_count=st.none() | st.integers(min_value=1, max_value=10**9),
    threshold=st.none() | st.floats(min_value=1e-12, max_value=0.999),
    min_pct=st.none() | st.floats(min_value=0.01, max_value=1e6),
)
def test_json_round_trip_property(
    brand_id: str,
    name: str,
    terms: tuple[str, ...],
    exclude: tuple[str, ...],
    min_count: int | None,
    threshold: float | None,
    min_pct: float | None,
) -> None:
    rule = BrandRule(
        brand_id=brand_id,
        name=name,
        terms=terms,
        exclude=exclude,
        spike=SpikeOverrides(min_count=min_count, threshold=threshold),
        growth=GrowthOverrides(min_pct=min_pct),
    )
    assert rule_from_json(brand_id, rule_to_json(rule)) == rule
