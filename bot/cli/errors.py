"""What stops a ``vigil`` command before it does its work."""

from __future__ import annotations


class StartupError(Exception):
    """The process cannot start (database unreachable, migration failed); exit 1, no trace."""
