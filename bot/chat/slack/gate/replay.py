"""A bounded memory of the Slack requests already run, so none runs twice.

Two repeats reach ``/slack/events``:

* A replay: the same signed request sent again (same body, timestamp and signature), by
  anyone who saw it once. Its signature is remembered until Slack's 5-minute window would
  refuse it anyway (its timestamp plus 300 s), so within the window it is answered 200 and
  dropped, and after it the signature check refuses it.
* A retry: Slack delivering again (``X-Slack-Retry-Num`` 1 to 3, for up to about 6
  minutes) because the first answer was slow. Slack signs each retry afresh, so the
  signature differs and only the body is the same: bodies are remembered for 15 minutes
  and a request carrying ``X-Slack-Retry-Num`` whose body was run is dropped.

Pure: the caller passes the time. Bounded twice: each key expires, and at most ``cap`` keys
are kept (only requests that passed the signature check are remembered, so only Slack can
fill it; past the cap the oldest go first, which could let a replay of one of them run).

In this process's memory, on purpose: every request to ``/slack/events`` reaches the one
process serving HTTP (``vigil serve``, or its one ``--role http`` child in the split serve
on PostgreSQL), so no other process needs to know. What this does not cover: a replay
within 5 minutes after that process restarted, and several HTTP replicas behind one
address (each would need the memory in the database).
"""

from __future__ import annotations

from collections import OrderedDict

CAP = 50_000
"""Keys kept at most: Slack sends far fewer requests than this in 15 minutes to one app."""


class SeenRequests:
    """Keys (signatures or body digests), each remembered until its own expiry."""

    def __init__(self, *, cap: int = CAP) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()  # oldest first
        self._cap = cap

    def __len__(self) -> int:
        return len(self._until)

    def seen(self, key: str, *, now: float) -> bool:
        """Whether ``key`` was remembered and has not expired at ``now``."""
        until = self._until.get(key)
        return until is not None and now < until

    def add(self, key: str, *, until: float, now: float) -> None:
        """Remember ``key`` until ``until``; forget what expired, and the oldest past the cap."""
        self._until.pop(key, None)
        self._until[key] = until
        while self._until:
            oldest, expiry = next(iter(self._until.items()))
            if expiry > now and len(self._until) <= self._cap:
                break
            del self._until[oldest]

    def first(self, key: str, *, until: float, now: float) -> bool:
        """True the first time ``key`` is offered (it is then remembered until ``until``),
        False while it is remembered."""
        if self.seen(key, now=now):
            return False
        self.add(key, until=until, now=now)
        return True
