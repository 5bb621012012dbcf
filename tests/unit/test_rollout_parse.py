"""``/rollout`` text → a typed request, or an error that names what was wrong (pure)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.chat.commands.rollout import (
    HELP,
    USAGE,
    RolloutAB,
    RolloutAbort,
    RolloutHelp,
    RolloutStart,
    RolloutStatus,
    parse_rollout,
)
from bot.chat.commands.spec import help_text
from bot.chat.commands.types import ParseError

TEN_MIN = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start fraud-scorer v8", RolloutStart("fraud-scorer", "v8")),
        (
            "start fraud-scorer v8 --steps 5,10,25 --every 10m",
            RolloutStart("fraud-scorer", "v8", (5, 10, 25), TEN_MIN),
        ),
        (
            "START fraud-scorer v8 --every=30s --steps=5,50,100",
            RolloutStart("fraud-scorer", "v8", (5, 50, 100), timedelta(seconds=30)),
        ),
        (  # the em dash macOS types for "--"
            "start fraud-scorer 2024.11.3 \u2014steps 5%,10%",
            RolloutStart("fraud-scorer", "2024.11.3", (5, 10)),
        ),
        ("/rollout start m v2", RolloutStart("m", "v2")),  # typed out in full on the console
        ("ab fraud-scorer v7 v8", RolloutAB("fraud-scorer", "v7", "v8", 50)),
        (
            "ab fraud-scorer v7 v8 --share 20% --every 1h",
            RolloutAB("fraud-scorer", "v7", "v8", 20, timedelta(hours=1)),
        ),
        ("status fraud-scorer", RolloutStatus("fraud-scorer")),
        ("fraud-scorer", RolloutStatus("fraud-scorer")),  # the question asked most
        ("abort fraud-scorer", RolloutAbort("fraud-scorer")),
        ("", RolloutHelp()),
        ("help", RolloutHelp()),
        ("help start", RolloutHelp()),
        ("--help", RolloutHelp()),
    ],
)
def test_rollout_forms(text: str, expected: object) -> None:
    assert parse_rollout(text) == expected


@pytest.mark.parametrize(
    ("text", "message", "form"),
    [
        ("start", "Missing model.", "start"),
        ("start fraud-scorer", "Missing version.", "start"),
        ("start m v8 v9", "Unexpected 'v9'.", "start"),
        ("start m v8 --steps", "--steps needs a value.", "start"),
        (
            "start m v8 --steps 10,5",
            "--steps must rise step by step, got 10, 5.",
            "start",
        ),
        (
            "start m v8 --steps 5,150",
            "--steps every step must lie in 1-100 (100: promote).",
            "start",
        ),
        (
            "start m v8 --steps five",
            "--steps must be percentages separated by commas, got 'five'.",
            "start",
        ),
        (
            "start m v8 --every 10",
            "--every must be a duration like 10m, 30s or 1h, got '10'.",
            "start",
        ),
        ("start m v8 --every 0s", "--every must be at least 1s.", "start"),
        ("start m v8 --every 1m --every 2m", "Give --every only once.", "start"),
        (
            "start m v8 --share 20",
            "Unknown option '--share'; start accepts --steps and --every.",
            "start",
        ),
        ("abort m --now", "Unknown option '--now'; abort takes no options.", "abort"),
        ("status", "Missing model.", "status"),
        ("abort m n", "Unexpected 'n'.", "abort"),
        ("ab m v7", "Missing B.", "ab"),
        ("ab m", "Missing A (the stable version).", "ab"),
        ("ab m v7 v7", "A and B are both 'v7': give two versions.", "ab"),
        (
            "ab m v7 v8 --share 100",
            "--share must be a whole percentage from 1 to 99, got '100'.",
            "ab",
        ),
        ("ab m v7 v8 --share x", "--share must be a whole percentage from 1 to 99, got 'x'.", "ab"),
        (
            "start <script> v1",
            "'<script>' has characters Vigil does not accept in a name.",
            "start",
        ),
    ],
)
def test_rollout_errors_name_what_was_wrong_with_the_usage_of_that_form(
    text: str, message: str, form: str
) -> None:
    assert parse_rollout(text) == ParseError(message, USAGE[form])


def test_an_unknown_subcommand_suggests_the_close_one_with_every_usage() -> None:
    got = parse_rollout("strat fraud-scorer v8")
    assert isinstance(got, ParseError)
    assert got.message == "Unknown subcommand 'strat'. Did you mean 'start'?"
    assert all(usage in got.usage for usage in USAGE.values())


def test_one_word_close_to_a_subcommand_is_a_slip_not_a_model() -> None:
    got = parse_rollout("stauts")
    assert isinstance(got, ParseError)
    assert got.message == "Unknown subcommand 'stauts'. Did you mean 'status'?"


def test_rollout_never_raises_on_garbage() -> None:
    rng = random.Random(0)
    alphabet = "ab1-#=%, \t\u2014<>@v.:/smart"
    words = ["start", "ab", "status", "abort", "--steps", "--every", "--share", "m", "v1"]
    for _ in range(2_000):
        text = " ".join(
            rng.choice(words) if rng.random() < 0.5 else "".join(rng.choices(alphabet, k=4))
            for _ in range(rng.randint(0, 6))
        )
        result = parse_rollout(text)
        assert isinstance(
            result,
            RolloutStart | RolloutAB | RolloutStatus | RolloutAbort | RolloutHelp | ParseError,
        )


def test_the_help_lists_every_form_and_incident_help_points_at_it() -> None:
    assert all(usage in HELP for usage in USAGE.values())
    assert "FAIL rolls it back to 0 %" in HELP
    lines = help_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  /rollout "))
    assert "(/rollout help)" in lines[at + 1]
