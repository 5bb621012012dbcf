"""Database URLs are read without SQLAlchemy (so ``vigil check`` loads no database toolkit),
yet exactly as SQLAlchemy reads them: a URL vigil.yaml accepts is one the engine opens."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.load import load_settings
from bot.core.errors import ConfigError
from bot.store.db_url import backend_name, is_sqlite_url, normalise_url

URLS = [
    "sqlite:///var/vigil.db",
    "sqlite:////abs/path/vigil.db",
    "sqlite://",
    "sqlite+aiosqlite:///x.db?timeout=5",
    "postgres://vigil@db/vigil",
    "postgresql://vigil:p%40ss@db.internal:5432/vigil?sslmode=require",
    "postgresql://vigil:p@ss:w/rd@db:5432/vigil",
    "postgresql+asyncpg://u@[::1]:5433/db",
    "postgresql://u@[fe80::1%25eth0]/db",
    "postgresql://u@host:/db",
    "postgresql:///vigil?host=/var/run/postgresql",
    "mysql://root@localhost/vigil",
    "mysql+pymysql://root@localhost:3306/vigil",
    "oracle+cx_oracle://scott:tiger@tnsname",
    "mssql+pyodbc://dsn",
    "postgresql://u@host:abc/db",
    "postgresql://u@host:5432abc/db",
    "postgresql://u@[::1]:x/db",
    "postgres:/missing-slash/db",
    "db.internal:5432/vigil",
    "://nothing",
    "pg sql://space/db",
    "just words",
]


def _sqlalchemy(url: str) -> str | None:
    """SQLAlchemy's reading: the backend name, or None when it cannot read the URL."""
    try:
        return make_url(normalise_url(url)).get_backend_name()
    except (ArgumentError, ValueError):
        return None


def _ours(url: str) -> str | None:
    try:
        return backend_name(url)
    except ValueError:
        return None


@pytest.mark.parametrize("url", URLS)
def test_the_backend_is_the_one_sqlalchemy_reads(url: str) -> None:
    assert _ours(url) == _sqlalchemy(url)


def test_sqlite_is_recognised_in_every_form() -> None:
    assert is_sqlite_url("sqlite:///var/vigil.db")
    assert is_sqlite_url("sqlite+aiosqlite:///var/vigil.db")
    assert not is_sqlite_url("postgres://vigil@db/vigil")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("db.internal:5432/vigil", "is not a database URL (e.g. postgresql://"),
        ("mysql://root@localhost/vigil", "Vigil runs on PostgreSQL or SQLite, not 'mysql'"),
    ],
)
def test_a_url_vigil_cannot_open_is_refused_naming_the_key(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"VIGIL_DATABASE_URL": url})
    assert str(caught.value).startswith(f"environment: VIGIL_DATABASE_URL: {says}")


def test_a_port_that_is_not_a_number_is_a_configuration_error_not_a_crash() -> None:
    """SQLAlchemy raises a bare ValueError here; Vigil used to let it out as a traceback."""
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"VIGIL_DATABASE_URL": "postgresql://vigil:secret@db:54x2/vigil"})
    assert "VIGIL_DATABASE_URL" in str(caught.value)
    assert "is not a database URL" in str(caught.value)
    assert "secret" not in str(caught.value)
