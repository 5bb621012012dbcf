"""Silence matchers: Alertmanager's semantics, text and JSON forms, and Vigil's refusals.

The same semantics are checked against a real Alertmanager in
tests/integration/test_matchers_vs_alertmanager.py; here each rule is pinned on its own.
"""

from __future__ import annotations

import pytest

from bot.silences import matchers as module
from bot.silences.matchers import (
    Matcher,
    MatcherError,
    matches_all,
    matches_filter,
    parse_matcher,
    parse_matchers,
    refusal,
)
from bot.silences.re2 import translate

PAY = {"alertname": "Latency", "service": "payments"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ('service="payments"', PAY, True),
        ('service="payments"', {"service": "payments-eu"}, False),
        ('service!="payments"', PAY, False),
        ('service!="payments"', {"service": "search"}, True),
        ('service=~"pay.*"', PAY, True),
        ('service=~"search|payments"', PAY, True),
        ('service!~"pay.*"', PAY, False),
        ('service!~"pay.*"', {"service": "search"}, True),
    ],
)
def test_each_operator(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_matcher(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("regex", "value", "expected"),
    [
        ("pay", "payments", False),  # anchored at both ends, unlike re.search
        ("payments", "payments-eu", False),
        ("payments.*", "payments-eu", True),
        (".*eu", "payments-eu", True),
        ("a|b", "ab", False),  # ^(?:a|b)$, not ^a|b$
        ("payments", "payments\n", False),  # Go's $ is the end of the text
        ("payments$", "payments\n", False),
    ],
)
def test_a_regex_matches_the_whole_value(regex: str, value: str, expected: bool) -> None:
    assert Matcher("service", regex, is_regex=True).matches({"service": value}) is expected


def test_a_missing_label_matches_as_the_empty_string() -> None:
    assert parse_matcher('team=""').matches(PAY)
    assert parse_matcher('team!="infra"').matches(PAY)
    assert parse_matcher('team=~".*"').matches(PAY)
    assert not parse_matcher('team=~".+"').matches(PAY)
    assert not parse_matcher('team!=""').matches(PAY)
    assert parse_matcher('team=""').matches({"team": ""})  # an empty value is the same


def test_go_classes_are_ascii_as_in_alertmanager() -> None:
    digits = Matcher("v", r"\d+", is_regex=True)
    assert digits.matches({"v": "42"})
    assert not digits.matches({"v": "٤٢"})  # Arabic-Indic digits: \d in Python, not in Go
    assert Matcher("v", r"\w+", is_regex=True).matches({"v": "a_1"})
    assert not Matcher("v", r"\w+", is_regex=True).matches({"v": "é"})


def test_flags_at_the_start_scope_the_whole_regex() -> None:
    m = parse_matcher('service=~"(?i)PAYMENTS|search"')
    assert m.matches({"service": "Payments"})
    assert m.matches({"service": "SEARCH"})


def test_all_matchers_must_match() -> None:
    ms = parse_matchers(['service="payments"', 'alertname=~"Lat.*"', 'env!="staging"'])
    assert matches_all(ms, PAY)
    assert not matches_all(ms, {**PAY, "env": "staging"})
    assert matches_all((), PAY)  # as in Alertmanager; refusal() stops such a silence


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ('team!=""', {"team": ""}, True),  # present, even empty: kept (matches_all: no)
        ('team!=""', {}, False),
        ('team!~""', {"team": ""}, True),
        ('team=""', {}, True),
        ('team=""', {"team": ""}, True),
        ('team=""', {"team": "db"}, False),
        ('team!="db"', {}, True),  # a non-empty filter value: as matches_all
        ('team=~"d.*"', {"team": "db"}, True),
        ('team=~"d.*"', {}, False),
    ],
)
def test_api_filters_read_an_empty_value_as_alertmanager_does(
    text: str, values: dict[str, str], expected: bool
) -> None:
    assert matches_filter([parse_matcher(text)], values) is expected


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('service="payments"', "service", "=", "payments"),
        ("service=payments", "service", "=", "payments"),
        ('  service = "payments"  ', "service", "=", "payments"),
        ("service!=payments", "service", "!=", "payments"),
        ('alertname=~"Latency.*"', "alertname", "=~", "Latency.*"),
        ('alertname!~"x"', "alertname", "!~", "x"),
        ('summary="say \\"hi\\""', "summary", "=", 'say "hi"'),
        ('path="C:\\\\temp"', "path", "=", "C:\\temp"),
        ('text="two\\nlines"', "text", "=", "two\nlines"),
        ('version=~"v1\\.2"', "version", "=~", "v1\\.2"),  # other escapes stay, as in AM
        ('team=""', "team", "=", ""),
        ("team=", "team", "=", ""),
        ('note="a=b"', "note", "=", "a=b"),
    ],
)
def test_amtool_text_forms(text: str, name: str, op: str, value: str) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == (name, op, value)


def test_the_braces_form_splits_outside_quotes() -> None:
    ms = parse_matchers(['{service="payments",alertname=~"A,B|C"}', "env=prod"])
    assert [str(m) for m in ms] == ['service="payments"', 'alertname=~"A,B|C"', 'env="prod"']


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('service~="x"', "is not a matcher"),
        ("payments", "is not a matcher"),
        ('foo-bar="x"', "'foo-bar' is not a label name"),
        ('1st="x"', "'1st' is not a label name"),
        ('a="x"y"', 'has a " inside'),
        ('a="x', 'closing " is missing'),
        ('a=~"("', "the regex has a ( without its )"),
        ('a=~"x**"', "the regex does not compile: multiple repeat"),
        (
            'a=~"(a)\\1"',
            "the regex uses a backreference \\1, which Alertmanager's regular expressions (RE2)",
        ),
        ('a=~"(?=x)y"', "lookahead"),
        ('a=~"(?<!x)y"', "negative lookbehind"),
        ('a=~"x*+"', "possessive repeat"),
        ('a=~"\\p{L}"', "Unicode class"),
        ('a=~"[[:alpha:]]"', "POSIX class"),
        ('a=~"x\\Z"', "the escape \\Z"),
        ('a=~"x(?i)y"', "in the middle of a group"),
        ('a=~"(?U)x"', "ungreedy"),
        ('a=~"x{1001}"', "at most 1000"),
    ],
)
def test_a_bad_matcher_is_refused_naming_its_text(text: str, says: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matcher(text)
    assert says in str(caught.value)
    assert str(caught.value).startswith(repr(text.strip()))


@pytest.mark.parametrize(
    ("go", "python"),
    [
        ("x{,3}", "x\\{,3}"),  # literal in Go, a repeat in Python
        ("a$", "a\\Z"),
        ("(?m)a$", "(?m:a$)"),
        ("\\Qa.b\\E+", "a\\.b+"),
        ("\\x{263a}", "\\U0000263a"),
        ("[a&&b]", "[a\\&\\&b]"),
        ("(?P<x>a)", "(?P<x>a)"),
        ("x\\z", "x\\Z"),
    ],
)
def test_re2_text_is_rewritten_for_python(go: str, python: str) -> None:
    assert translate(go) == python


def test_text_form_escapes_as_alertmanager_and_reads_back() -> None:
    m = Matcher("summary", 'say "hi"\\\n', is_regex=False, is_equal=False)
    assert str(m) == 'summary!="say \\"hi\\"\\\\\\n"'
    assert parse_matcher(str(m)) == m
    regex = Matcher("version", "v1\\.2|v2", is_regex=True)
    assert str(regex) == 'version=~"v1\\\\.2|v2"'
    assert parse_matcher(str(regex)) == regex


@pytest.mark.parametrize("op", ["=", "!=", "=~", "!~"])
def test_json_round_trip_is_the_api_v2_shape(op: str) -> None:
    m = parse_matcher(f'service{op}"pay.*"')
    data = m.to_json()
    assert data == {
        "name": "service",
        "value": "pay.*",
        "isRegex": "~" in op,
        "isEqual": op[0] == "=",
    }
    assert Matcher.from_json(data, where="matchers[0]") == m


def test_from_json_defaults_is_equal_to_true() -> None:
    m = Matcher.from_json({"name": "a", "value": "b", "isRegex": False}, where="matchers[0]")
    assert m.op == "="


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"value": "b", "isRegex": False}, "matchers[1].name: is required"),
        ({"name": "a", "value": 3, "isRegex": False}, "matchers[1].value: must be text"),
        ({"name": "a", "value": "b", "isRegex": "no"}, "matchers[1].isRegex: must be true or"),
        ({"name": "a", "value": "b", "isRegex": False, "x": 1}, "matchers[1].x: unknown field"),
        ({"name": "a-b", "value": "b", "isRegex": False}, "matchers[1]: a-b=\"b\": 'a-b' is not"),
        ({"name": "a", "value": "(", "isRegex": True}, 'matchers[1]: a=~"(": the regex has'),
    ],
)
def test_from_json_names_the_field_path(data: dict[str, object], says: str) -> None:
    with pytest.raises(MatcherError) as caught:
        Matcher.from_json(data, where="matchers[1]")
    assert str(caught.value).startswith(says)


def test_a_regex_is_compiled_once() -> None:
    a = Matcher("x", "cache-me-[0-9]+", is_regex=True)
    b = Matcher("y", "cache-me-[0-9]+", is_regex=True)
    assert a.matches({"x": "cache-me-1"})
    assert b.matches({"y": "cache-me-22"})
    info = module._compiled.cache_info()
    assert module._compiled("cache-me-[0-9]+") is module._compiled("cache-me-[0-9]+")
    assert module._compiled.cache_info().hits >= info.hits + 2


# --- refusals --------------------------------------------------------------------------


def test_no_matchers_are_refused() -> None:
    why = refusal(())
    assert why is not None
    assert "at least one matcher" in why


@pytest.mark.parametrize(
    "texts",
    [
        ['service!="payments"'],
        ['service!~"payments|search"', 'env!="prod"'],
        ['service=~".*"'],
        ['alertname=~"Lat.*|"'],  # the empty alternative matches ""
    ],
)
def test_a_set_whose_every_matcher_matches_empty_is_refused(texts: list[str]) -> None:
    why = refusal(parse_matchers(texts))
    assert why is not None
    assert "would hush every alert that lacks" in why
    assert "Add at least one matcher that needs a real value" in why


@pytest.mark.parametrize(
    "texts", [['team=""'], ['team=""', 'env!="prod"'], ['team!~".+"'], ['team=~""']]
)
def test_a_set_that_only_matches_a_missing_label_is_refused(texts: list[str]) -> None:
    why = refusal(parse_matchers(texts))
    assert why is not None
    assert "only matches alerts that have no team label" in why


@pytest.mark.parametrize(
    "texts",
    [
        ['service="payments"'],
        ['service="payments"', 'env!="prod"'],
        ['alertname=~"Latency.*"', 'team=""'],
        ['team=""', 'env!=""'],  # alerts with an env and no team: a real, bounded set
        ['service!~""'],
    ],
)
def test_a_set_with_one_matcher_needing_a_value_is_accepted(texts: list[str]) -> None:
    assert refusal(parse_matchers(texts)) is None


def test_go_word_boundaries_and_spaces_are_ascii() -> None:
    boundary = Matcher("v", r".*\bdb\b.*", is_regex=True)
    assert boundary.matches({"v": "the db is down"})
    assert not boundary.matches({"v": "thedb"})
    assert boundary.matches({"v": "édb"})  # é is no word character in Go
    assert not Matcher("v", r"a\sb", is_regex=True).matches({"v": "a\vb"})  # Go's \s lacks \v
