"""Database URLs as people write them: the async driver each maps to, and which backend it
names. Pure (no SQLAlchemy): reading vigil.yaml checks the URL, and ``vigil check`` and
``vigil rules list`` must not pay for loading the database toolkit to do it.

:func:`backend_name` reads a URL with SQLAlchemy's own URL grammar (the pattern of
``sqlalchemy.engine.url._parse_url``), so a URL vigil.yaml accepts is one the engine opens;
tests/unit/test_db_url.py compares the two on every form we know of. The URL with its
password hidden, for logs, is :func:`bot.store.db.redact_url` (it renders with SQLAlchemy).
"""

from __future__ import annotations

import re

_URL = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
    """,
    re.X,
)
"""SQLAlchemy 2's URL pattern, verbatim."""


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


def backend_name(url: str) -> str:
    """The backend a URL (in any form :func:`normalise_url` accepts) names: ``sqlite``,
    ``postgresql``, ``mysql``… (the driver after a ``+`` dropped). ``ValueError`` when it is
    not a URL SQLAlchemy can read: no ``scheme://``, or a port that is not a number (or
    empty)."""
    found = _URL.match(normalise_url(url))
    if found is None:
        raise ValueError("not a database URL")
    if found["port"] is not None:  # a ':' after the host: SQLAlchemy reads a number there
        int(found["port"])  # ValueError when it is none (an empty port included)
    return str(found["name"]).split("+")[0]


def is_sqlite_url(url: str) -> bool:
    """Is this database URL (in any form :func:`normalise_url` accepts) SQLite's?"""
    return backend_name(url) == "sqlite"
