"""A dependency's own state and its URL as shown: since when, why, and never a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.sources.dependency import down_detail, observe, safe_url

T0 = datetime(2025, 3, 1, 2, 10, tzinfo=UTC)
URL = "http://features.internal/health"


def test_down_since_stays_while_the_cause_changes_and_moves_when_it_is_back() -> None:
    down = observe(None, False, "connection refused", T0, URL)
    later = observe(down, False, "timed out after 5s", T0 + timedelta(minutes=20), URL)
    assert (later.state, later.since, later.reason) == ("down", T0, "timed out after 5s")
    back = observe(later, True, "", T0 + timedelta(minutes=21), URL)
    assert (back.state, back.since, back.reason) == ("up", T0 + timedelta(minutes=21), "")
    assert back.to_json() == {"state": "up", "since": "2025-03-01T02:31:00Z", "url": URL}
    assert later.to_json()["reason"] == "timed out after 5s"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://ops:s3cret@features.internal:8443/health", "http://features.internal:8443/health"),
        ("https://features.internal/health?token=abc", "https://features.internal/health"),
        ("https://f.internal/h?api_key=k&deep=1", "https://f.internal/h?deep=1"),
        ("https://f.internal/h?deep=1&x=9f8e7d6c5b4a39281706ab", "https://f.internal/h?deep=1"),
        ("https://f.internal/h?9f8e7d6c5b4a39281706ab", "https://f.internal/h"),
        ("http://[::1]:9/health#frag", "http://[::1]:9/health"),
    ],
)
def test_safe_url_drops_credentials_and_token_like_query_parameters(url: str, shown: str) -> None:
    assert safe_url(url) == shown


def test_down_detail_says_why_where_and_what_next() -> None:
    assert down_detail("feature-store", "connection refused", URL, timedelta(seconds=15)) == (
        f"connection refused ({URL}); check feature-store, Vigil checks again every 15 s"
    )
    assert down_detail("f", "HTTP 503, expected 200", URL, timedelta(minutes=5)).endswith(
        "Vigil checks again every 5 min"
    )
    assert down_detail("f", "slow", URL, None).endswith("Vigil keeps checking")
