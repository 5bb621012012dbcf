"""The memory of Slack requests already run: each key until its own expiry, and never more
than the cap (only signed requests reach it, but a memory must not grow without end)."""

from __future__ import annotations

from bot.chat.slack.gate.replay import SeenRequests


def test_a_key_is_refused_until_its_expiry_then_accepted_again() -> None:
    seen = SeenRequests()
    assert seen.first("v0=abc", until=1300.0, now=1000.0)
    assert not seen.first("v0=abc", until=1300.0, now=1001.5)  # replayed 1.5 s later
    assert not seen.first("v0=abc", until=1300.0, now=1299.9)
    assert seen.first("v0=abc", until=1700.0, now=1300.0)  # the signature check refuses it now


def test_expired_keys_are_forgotten_and_the_cap_holds() -> None:
    seen = SeenRequests(cap=3)
    for n in range(10):
        seen.add(f"k{n}", until=100.0 + n, now=0.0)
    assert len(seen) == 3
    assert [seen.seen(f"k{n}", now=0.0) for n in (6, 7, 8, 9)] == [False, True, True, True]
    seen.add("late", until=500.0, now=200.0)  # everything before it has expired
    assert len(seen) == 1
