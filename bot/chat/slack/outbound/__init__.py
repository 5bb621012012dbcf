"""Slack out: the outbox's deliverer and the steps it is made of (card, page DM, thread reply,
chart upload, incident channel), each recorded once so a retry skips what Slack has."""
