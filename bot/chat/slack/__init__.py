"""Vigil's Slack adapter: Block Kit rendering (pure), the Bolt front end, and delivery.

``blocks`` and ``modals`` only build JSON, so they are tested without Slack; the modules that
talk to Slack import them, never the other way round.
"""
