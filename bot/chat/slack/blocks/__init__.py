"""Vigil's Slack messages as Block Kit dicts: the incident card, thread replies, page DMs,
command replies. Pure on purpose (no Slack library, no I/O): what a responder sees, which
buttons a state offers and whether Slack's limits hold are all tested without Slack."""
