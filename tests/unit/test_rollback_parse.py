"""``/rollback`` text → a typed request, or an error with the usage line (pure)."""

from __future__ import annotations

import random

import pytest

from bot.chat.commands.parse import ParseError
from bot.chat.commands.rollback import USAGE, Rollback, RollbackHelp, parse_rollback


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fraud-scorer", Rollback("fraud-scorer")),
        ("fraud-scorer v7", Rollback("fraud-scorer", "v7")),
        ("fraud-scorer --incident 12", Rollback("fraud-scorer", None, 12)),
        ("fraud-scorer --incident=#12 --dry-run", Rollback("fraud-scorer", None, 12, True)),
        ("--dry-run fraud-scorer 2024.11.3", Rollback("fraud-scorer", "2024.11.3", None, True)),
        ("fraud-scorer \u2014dry-run", Rollback("fraud-scorer", None, None, True)),
        ("", RollbackHelp()),
        ("help", RollbackHelp()),
    ],
)
def test_rollback_forms(text: str, expected: object) -> None:
    assert parse_rollback(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("--dry-run", "Missing model name."),
        ("fraud-scorer --incident", "--incident needs an incident number."),
        ("fraud-scorer --incident abc", "--incident needs an incident number, got 'abc'."),
        ("fraud-scorer --incident 0", "--incident needs an incident number, got '0'."),
        ("m --incident 1 --incident 2", "Give --incident only once."),
        ("m v1 v2", "Unexpected 'v2' after the version."),
        ("m --force", "Unknown option '--force'; /rollback accepts --incident N and --dry-run."),
        ("m --dry-run=yes", "--dry-run takes no value."),
        ("<script> v1", "Model name '<script>' has characters Vigil does not accept."),
    ],
)
def test_rollback_errors_carry_the_usage(text: str, message: str) -> None:
    assert parse_rollback(text) == ParseError(message, USAGE)


def test_rollback_never_raises_on_garbage() -> None:
    rng = random.Random(0)
    alphabet = "ab1-#= \t\u2014<>@v.:/"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert isinstance(parse_rollback(text), Rollback | RollbackHelp | ParseError)
