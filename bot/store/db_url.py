"""Database URLs as people write them: the async driver each maps to, which backend it
names, and the URL with its password hidden for logs and error messages.

Apart from :mod:`bot.store.db` so that reading vigil.yaml (``bot.config.load`` checks the URL) loads
only SQLAlchemy's URL parser, not the engine, the ORM and the migrations.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Accept the URL forms people paste (``postgres://``, ``postgresql://``, ``sqlite:///``).

    They are mapped to the async drivers Vigil uses (asyncpg, aiosqlite).
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def is_sqlite_url(url: str) -> bool:
    """Is this database URL (in any form :func:`normalise_url` accepts) SQLite's?"""
    return make_url(normalise_url(url)).get_backend_name() == "sqlite"


def redact_url(url: str) -> str:
    """The URL with any password replaced, safe for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)
