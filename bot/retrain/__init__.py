"""Retraining on evidence: per-model cron schedules, K-of-N drifted windows, a cooldown,
one run in flight, a dedup key the orchestrator receives as its idempotency key, and the
run followed to its end, its version entering the registry as a shadow. See
docs/ARCHITECTURE.md ("Retraining")."""
