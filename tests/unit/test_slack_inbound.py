"""The checks before Bolt, without HTTP: what a refusal says and that it never echoes input."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.chat.slack.gate.inbound import Refusal, body_text, verify

KEY = b"signing-secret"


def _sig(body: bytes, ts: str) -> str:
    return "v0=" + hmac.new(KEY, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()


def test_a_signature_over_the_raw_bytes_verifies() -> None:
    body = b"text=caf\xc3\xa9"
    assert verify(body, "1000", _sig(body, "1000"), secret=KEY, now=1299.0) == 1000


@pytest.mark.parametrize(
    ("ts", "signature", "now", "field"),
    [
        ("1000", "v0=0", 1000.0, "X-Slack-Signature"),
        ("1000", "v0=é" + "0" * 63, 1000.0, "X-Slack-Signature"),  # non-ASCII: no TypeError
        ("1000", None, 1000.0, "X-Slack-Signature"),
        ("1000", "", 1301.0, "X-Slack-Request-Timestamp"),  # stale
        ("abc\n", "", 1000.0, "X-Slack-Request-Timestamp"),
        ("9" * 5000, "", 1000.0, "X-Slack-Request-Timestamp"),
        (None, "", 1000.0, "X-Slack-Request-Timestamp"),
    ],
)
def test_a_bad_signature_or_timestamp_is_a_401_that_echoes_nothing(
    ts: str | None, signature: str | None, now: float, field: str
) -> None:
    refusal = verify(b"x", ts, signature, secret=KEY, now=now)
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.field) == (401, field)
    assert "abc" not in refusal.message
    assert "999" not in refusal.message


def test_a_deeply_nested_json_body_is_a_400_not_a_crash() -> None:
    refusal = body_text(b"{" + b'"a":[' * 100_000 + b"]" * 100_000 + b"}", "application/json")
    assert isinstance(refusal, Refusal)
    assert (refusal.status, refusal.field) == (400, "body")
