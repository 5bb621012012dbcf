"""The /incident parser: happy paths, every error with its usage line, and garbage-in safety."""

from __future__ import annotations

import random

import pytest

from bot.chat.commands.parse import (
    Ack,
    Assign,
    Command,
    Contain,
    Help,
    List,
    New,
    Note,
    Oncall,
    ParseError,
    Postmortem,
    Report,
    Resolve,
    Retrain,
    Sev,
    Show,
    parse_incident,
)
from bot.chat.commands.rollback import USAGE as ROLLBACK_USAGE
from bot.chat.commands.spec import SUBCOMMANDS, USAGE, help_text

EXPECTED_USAGE = {
    "new": "/incident new TITLE [--sev P1..P4] [--service S | --model M]",
    "list": "/incident list [--all] [--cursor C]",
    "show": "/incident show N",
    "ack": "/incident ack N",
    "escalate": "/incident escalate N",
    "snooze": "/incident snooze N [DURATION] [until CONDITION [for DURATION]] | off",
    "silence": "/incident silence N [DURATION] [--yes] [-- COMMENT]",
    "sev": "/incident sev N P1..P4",
    "assign": "/incident assign N @user",
    "note": "/incident note N TEXT",
    "contain": "/incident contain N [--pin]",
    "retrain": "/incident retrain N",
    "resolve": "/incident resolve N [TEXT]",
    "postmortem": "/incident postmortem N",
    "oncall": "/incident oncall [NAME]",
    "report": "/incident report [SINCE]",
    "help": "/incident help [SUBCOMMAND]",
}
ALL_USAGE = "\n".join(EXPECTED_USAGE.values())


def test_usage_lines_are_the_documented_ones() -> None:
    assert dict(USAGE) == EXPECTED_USAGE
    assert tuple(EXPECTED_USAGE) == SUBCOMMANDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # help
        ("", Help(None)),
        ("   ", Help(None)),
        ("help", Help(None)),
        ("HELP", Help(None)),
        ("help ack", Help("ack")),
        ("help Resolve", Help("resolve")),
        ("--help", Help(None)),
        ("ack --help", Help("ack")),
        ("/incident ack 3", Ack(3)),
        # list
        ("list", List()),
        ("LIST --all", List(all=True)),
        ("list --ALL", List(all=True)),
        ("list \u2014all", List(all=True)),
        ("list --cursor WyJhbGwiLDJd", List(cursor="WyJhbGwiLDJd")),
        ("list --all --cursor=WyJhbGwiLDJd", List(all=True, cursor="WyJhbGwiLDJd")),
        ("list \u2014cursor WyJhbGwiLDJd --all", List(all=True, cursor="WyJhbGwiLDJd")),
        ('list --cursor "WyJhbGwiLDJd"', List(cursor="WyJhbGwiLDJd")),
        # one number
        ("show 12", Show(12)),
        ("show #12", Show(12)),
        ("Show   007", Show(7)),
        ("ack 3", Ack(3)),
        ("contain #4", Contain(4)),
        ("contain 4", Contain(4, pin=False)),
        ("contain 4 --pin", Contain(4, pin=True)),
        ("contain #4 --PIN", Contain(4, pin=True)),
        ("contain 4 \u2014pin", Contain(4, pin=True)),
        ("retrain 5", Retrain(5)),
        ("RETRAIN #5", Retrain(5)),
        ("  ack\t5  ", Ack(5)),
        # sev
        ("sev 12 P1", Sev(12, "P1")),
        ("sev 12 p2", Sev(12, "P2")),
        ("sev #12 3", Sev(12, "P3")),
        ("sev 12 sev4", Sev(12, "P4")),
        ("SEV 12 SEV1", Sev(12, "P1")),
        # assign
        ("assign 7 @alice", Assign(7, "@alice")),
        ("assign 7 alice", Assign(7, "@alice")),
        ("assign 7 @a.b-c_d", Assign(7, "@a.b-c_d")),
        ("assign 7 <@U123ABC>", Assign(7, "<@U123ABC>")),
        ("assign 7 <@U123ABC|alice>", Assign(7, "<@U123ABC>")),
        ("assign #7 <@W9Z|Jane Doe>", Assign(7, "<@W9Z>")),
        # note / resolve keep the text verbatim, ends stripped
        ("note 4 rolled back to v1.3", Note(4, "rolled back to v1.3")),
        ("note 4   GPU  3 is   hot, it's 91C  ", Note(4, "GPU  3 is   hot, it's 91C")),
        ("note 4 line one\nline two", Note(4, "line one\nline two")),
        ("note 4 --sev is not an option here", Note(4, "--sev is not an option here")),
        ('note 4 "quoted" stays', Note(4, '"quoted" stays')),
        ("resolve 9", Resolve(9)),
        ("resolve #9   ", Resolve(9)),
        ("resolve 9 bad deploy,  rolled back", Resolve(9, "bad deploy,  rolled back")),
    ],
)
def test_parses(text: str, expected: Command) -> None:
    assert parse_incident(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("new GPU OOM on ranker", New("GPU OOM on ranker")),
        ("new ranker p99 > 2s --sev P2", New("ranker p99 > 2s", severity="P2")),
        ("new --sev=p1 ranker down", New("ranker down", severity="P1")),
        ("new ranker --sev sev3 down", New("ranker down", severity="P3")),
        ("new ranker down --severity 4", New("ranker down", severity="P4")),
        ("new latency --service ranker", New("latency", service="ranker")),
        ("new drift --model=llama-3-70b --sev 2", New("drift", "P2", model="llama-3-70b")),
        ("new drift --SERVICE search-api", New("drift", service="search-api")),
        ("new drift --service 'search-api'", New("drift", service="search-api")),
        ("new drift --model=\u2018m1\u2019", New("drift", model="m1")),
        ('new drift --service "search api"', New("drift", service="search api")),
        # the user's words and apostrophes are kept
        ("new ranker's p99 is up", New("ranker's p99 is up")),
        ("new users' sessions drop", New("users' sessions drop")),
        ("new ranker\u2019s p99 is up", New("ranker\u2019s p99 is up")),
        # quotes around the whole title go; quotes inside it stay
        ('new "GPU OOM on node 3" --sev 1', New("GPU OOM on node 3", "P1")),
        ("new 'GPU OOM on node 3'", New("GPU OOM on node 3")),
        ("new 'it's down'", New("it's down")),
        ("new \u201cSmart quotes from Slack\u201d", New("Smart quotes from Slack")),
        ('new "GPU OOM" on node 3', New('"GPU OOM" on node 3')),
        ("new 'a' and 'b'", New("'a' and 'b'")),
        ('new "unclosed quote', New('"unclosed quote')),
        # options inside a quoted title are title words
        ('new "why --sev P1 failed" --sev 2', New("why --sev P1 failed", "P2")),
        # -- ends the options; macOS's em dash counts as --
        ("new -- --weird title", New("--weird title")),
        ("new \u2014sev P1 ranker down", New("ranker down", "P1")),
        ("new \u2013model=m1 drift", New("drift", model="m1")),
        ("new \u2014notanoption x", New("\u2014notanoption x")),
        ("new temp -5C on gpu", New("temp -5C on gpu")),
    ],
)
def test_parses_new(text: str, expected: New) -> None:
    assert parse_incident(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "usage_key"),
    [
        ("foo", "Unknown subcommand 'foo'.", None),
        ("ak 12", "Unknown subcommand 'ak'. Did you mean 'ack'?", None),
        ("help foo", "No help for 'foo': not a subcommand.", None),
        ("help ack now", "help takes one subcommand name, got 'ack now'.", "help"),
        # incident numbers
        ("ack", "Missing incident number.", "ack"),
        ("show", "Missing incident number.", "show"),
        ("note", "Missing incident number.", "note"),
        ("ack abc", "Incident number must be a positive whole number, got 'abc'.", "ack"),
        ("show 0", "Incident number must be a positive whole number, got '0'.", "show"),
        ("contain -3", "Incident number must be a positive whole number, got '-3'.", "contain"),
        ("sev 12x P1", "Incident number must be a positive whole number, got '12x'.", "sev"),
        ("ack #", "Incident number must be a positive whole number, got '#'.", "ack"),
        ("ack 1.5", "Incident number must be a positive whole number, got '1.5'.", "ack"),
        ("ack \u0661\u0662", "Incident number must be a positive whole number, got '١٢'.", "ack"),
        ("resolve P1", "Incident number must be a positive whole number, got 'P1'.", "resolve"),
        ("ack 1234567890123456789", "Incident number '1234567890123456789' is too large.", "ack"),
        ("show 12 13", "show takes only an incident number; unexpected '13'.", "show"),
        (
            "ack 12 13",
            "ack takes only an incident number; unexpected '13'."
            " To add a note, use /incident note N TEXT.",
            "ack",
        ),
        (
            "contain 12 blocked at LB",
            "contain takes only an incident number; unexpected 'blocked at LB'."
            " To add a note, use /incident note N TEXT.",
            "contain",
        ),
        ("contain 12 --force", "Unknown option '--force'; contain accepts only --pin.", "contain"),
        (
            "contain 12 --pin=yes",
            "Unknown option '--pin=yes'; contain accepts only --pin.",
            "contain",
        ),
        (
            "contain 12 --pin now",
            "contain takes only an incident number; unexpected 'now'."
            " To add a note, use /incident note N TEXT.",
            "contain",
        ),
        (
            "contain --pin",
            "Incident number must be a positive whole number, got '--pin'.",
            "contain",
        ),
        ("retrain", "Missing incident number.", "retrain"),
        ("retrain 3 now", "retrain takes only an incident number; unexpected 'now'.", "retrain"),
        # severity
        ("sev 12", "Missing severity: give one of P1, P2, P3, P4.", "sev"),
        ("sev 12 P5", "Severity must be one of P1, P2, P3, P4, got 'P5'.", "sev"),
        ("sev 12 0", "Severity must be one of P1, P2, P3, P4, got '0'.", "sev"),
        ("sev 12 high", "Severity must be one of P1, P2, P3, P4, got 'high'.", "sev"),
        ("sev 12 P1 now", "Unexpected 'now' after the severity.", "sev"),
        ("sev P1 12", "Incident number must be a positive whole number, got 'P1'.", "sev"),
        # assign
        ("assign 7", "Missing user: give @name or mention them.", "assign"),
        ("assign 7 @alice bob", "Give one user, got '@alice bob'.", "assign"),
        ("assign 7 @", "User must be @name or a Slack mention, got '@'.", "assign"),
        (
            "assign 7 <#C123|ops>",
            "User must be @name or a Slack mention, got '<#C123|ops>'.",
            "assign",
        ),
        ("assign 7 <@u12>", "User must be @name or a Slack mention, got '<@u12>'.", "assign"),
        (
            "assign @alice 7",
            "Incident number must be a positive whole number, got '@alice'.",
            "assign",
        ),
        # note
        ("note 4", "Missing note text: say what happened.", "note"),
        ("note 4    ", "Missing note text: say what happened.", "note"),
        # list
        ("list all", "list takes no arguments except --all and --cursor, got 'all'.", "list"),
        ("list --mine", "Unknown option '--mine'; list accepts only --all and --cursor.", "list"),
        ("list --cursor", "--cursor needs the cursor that the last list's last line gave.", "list"),
        (
            "list --cursor=",
            "--cursor needs the cursor that the last list's last line gave.",
            "list",
        ),
        # new
        (
            "new",
            "Missing title: say what is wrong, e.g. /incident new Ranker p99 over 2s.",
            "new",
        ),
        (
            "new --sev P1",
            "Missing title: say what is wrong, e.g. /incident new Ranker p99 over 2s.",
            "new",
        ),
        (
            'new "" --sev P1',
            "Missing title: say what is wrong, e.g. /incident new Ranker p99 over 2s.",
            "new",
        ),
        ("new down --service a --model b", "Give --service or --model, not both.", "new"),
        ("new --model=b down --service=a", "Give --service or --model, not both.", "new"),
        ("new down --sev", "Option --sev needs a value.", "new"),
        ("new down --sev=", "Option --sev needs a value.", "new"),
        ("new down --service --sev P1", "Option --service needs a value.", "new"),
        ('new down --model ""', "Option --model needs a value.", "new"),
        ("new down --sev P5", "Severity must be one of P1, P2, P3, P4, got 'P5'.", "new"),
        ("new down --sev 1 --sev 2", "Give --sev only once.", "new"),
        ("new down --severity 1 --sev 2", "Give --sev only once.", "new"),
        (
            "new down --owner bob",
            "Unknown option '--owner'; new accepts --sev, --service and --model.",
            "new",
        ),
        (
            "new --> latency",
            "Unknown option '-->'; new accepts --sev, --service and --model.",
            "new",
        ),
    ],
)
def test_errors(text: str, message: str, usage_key: str | None) -> None:
    result = parse_incident(text)
    assert isinstance(result, ParseError), result
    assert result.message == message
    assert result.usage == (ALL_USAGE if usage_key is None else EXPECTED_USAGE[usage_key])


def test_long_input_is_cut_short_in_the_message() -> None:
    result = parse_incident("ack " + "x" * 500)
    assert isinstance(result, ParseError)
    assert result.message == f"Incident number must be a positive whole number, got '{'x' * 39}…'."


def test_huge_number_does_not_hit_the_int_digit_limit() -> None:
    result = parse_incident("ack " + "9" * 10_000)
    assert isinstance(result, ParseError)
    assert "too large" in result.message


def test_full_help_lists_every_usage_line_with_a_description() -> None:
    text = help_text()
    lines = text.splitlines()
    for usage in EXPECTED_USAGE.values():
        at = lines.index(f"  {usage}")
        assert lines[at + 1].strip(), f"no description under {usage}"
    assert "open an incident by hand" in text
    assert "a human choice wins over the policy" in text
    assert "make @user the incident commander" in text


@pytest.mark.parametrize("topic", SUBCOMMANDS)
def test_topic_help_shows_only_that_subcommand(topic: str) -> None:
    text = help_text(topic.upper())
    assert text.startswith(EXPECTED_USAGE[topic] + "\n")
    others = [u for name, u in EXPECTED_USAGE.items() if name != topic]
    assert not any(u in text for u in others)


def test_unknown_help_topic_says_so_and_shows_everything() -> None:
    text = help_text("nope")
    assert text.startswith("Unknown subcommand 'nope'.")
    assert text.endswith(help_text())


_PIECES = [
    *SUBCOMMANDS,
    "HELP",
    "/incident",
    "12",
    "#12",
    "#",
    "0",
    "-1",
    "9" * 30,
    "P1",
    "p5",
    "sev3",
    "--sev",
    "--sev=",
    "--sev=P2",
    "--service",
    "--model=m",
    "--all",
    "--",
    "--help",
    "\u2014sev",
    "\u2014",
    '"',
    "'",
    "\u201c",
    "\u201d",
    '""',
    "''",
    "<@U1|",
    "<@U1>",
    "<@>",
    "@",
    "@alice",
    "=",
    "it's",
    "\n",
    "\t",
    "\x00",
    "\u00a0",
    "\U0001f525",
]


def _garbage(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:  # raw characters, including control and odd unicode
        return "".join(chr(rng.randrange(0x0, 0x3000)) for _ in range(rng.randrange(0, 40)))
    seps = [" ", "", "  ", "\t", "="]
    tail = "".join(rng.choice(_PIECES) + rng.choice(seps) for _ in range(rng.randrange(0, 6)))
    if roll < 0.7:  # a real subcommand and number, then junk: gets past the first checks
        return f"{rng.choice(SUBCOMMANDS)} {rng.choice(['3', '#12', 'x'])} {tail}"
    return tail


def test_garbage_never_raises() -> None:
    rng = random.Random(0)
    kinds: set[str] = set()
    for _ in range(600):
        text = _garbage(rng)
        result = parse_incident(text)
        assert isinstance(result, Command | ParseError), (text, result)
        if isinstance(result, ParseError):
            assert result.message
            assert result.usage
        kinds.add(type(result).__name__)
    # the generator reaches past the front door: real commands as well as errors come out
    assert {"ParseError", "Help", "New"} <= kinds
    assert len(kinds) >= 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postmortem 12", Postmortem(12)),
        ("postmortem #3", Postmortem(3)),
        ("ONCALL", Oncall()),
        ("oncall ml-oncall", Oncall("ml-oncall")),
    ],
)
def test_postmortem_and_oncall(text: str, expected: object) -> None:
    assert parse_incident(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "sub"),
    [
        ("postmortem", "Missing incident number.", "postmortem"),
        (
            "postmortem 3 now",
            "postmortem takes only an incident number; unexpected 'now'.",
            "postmortem",
        ),
        (
            "oncall ml-oncall now",
            "oncall takes at most a schedule or rotation name; unexpected 'now'.",
            "oncall",
        ),
    ],
)
def test_postmortem_and_oncall_errors(text: str, message: str, sub: str) -> None:
    assert parse_incident(text) == ParseError(message, EXPECTED_USAGE[sub])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("report", Report("7d")),
        ("report 7d", Report("7d")),
        ("REPORT 30d", Report("30d")),
        ("report 2026-11-01", Report("2026-11-01")),
        ('report "2026-11-01 09:00"', Report("2026-11-01 09:00")),
        ("report --since 30d", Report("30d")),
        ("report --since=24h", Report("24h")),
        ("report \u2014since 2w", Report("2w")),  # autocorrected --since
        ("report --help", Help("report")),
        ("/incident report 7d", Report("7d")),
    ],
)
def test_report(text: str, expected: Report | Help) -> None:
    """The period is passed on as typed: the report service reads it against the time."""
    assert parse_incident(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("report 7d extra", "report takes at most a period like 30d; unexpected 'extra'."),
        ("report --since 7d extra", "report takes at most a period like 30d; unexpected 'extra'."),
        ("report --since", "Option --since needs a period, e.g. 30d."),
        ("report --since=", "Option --since needs a period, e.g. 30d."),
        ("report --all", "Unknown option '--all'; report accepts only a period like 30d."),
    ],
)
def test_report_errors(text: str, message: str) -> None:
    assert parse_incident(text) == ParseError(message, EXPECTED_USAGE["report"])


def test_report_help_describes_the_period() -> None:
    text = help_text("report")
    assert text.startswith("/incident report [SINCE]\n")
    assert "7d" in text
    assert "2026-11-01" in text
    assert "N is an incident number" not in text  # it takes none


def test_contain_keeps_its_one_argument_constructor() -> None:
    assert Contain(4) == Contain(4, pin=False)


def test_help_points_at_rollback_with_its_real_usage_line() -> None:
    lines = help_text().splitlines()
    at = lines.index(f"  {ROLLBACK_USAGE}")
    assert "last known good" in lines[at + 1]
    assert "--pin" in help_text("contain")
    assert "retrain" in help_text("retrain")
