"""Heartbeats that check the data: batch jobs and pipelines report each run, with its numbers.

``spec.py`` (the ``heartbeats:`` settings) and ``check.py`` (a beat's body, the metrics a
heartbeat yields, a beat's problems in words) are pure; ``tables.py`` and ``store.py`` keep
each heartbeat's last beat in the database; ``bot/sources/heartbeats.py`` turns that state
into samples for the rules in ``rules/default.yaml``; ``POST /api/v1/heartbeats/{name}`` in
``bot/web.py`` records a beat.
"""
