"""One exception tree for Vigil, so callers can catch by meaning and know whether to retry.

    VigilError                      base; ``retryable`` says whether trying again can help
    ├── ConfigError                 bad setting or file; names the file and the key (not retryable)
    ├── ValidationError             bad input from a caller; names the field (not retryable)
    ├── NotFoundError               the thing asked for does not exist (not retryable)
    ├── TransitionError             an illegal incident state change; names the current state
    └── StorageError                the database failed underneath us (retryable)

Messages never contain secrets: tokens are wrapped in ``bot.core.secret.Secret`` before they
reach any code that might format them.
"""

from __future__ import annotations


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(VigilError):
    """A setting, config file, rule, playbook or template is wrong.

    ``where`` names the file (and line, when known) and ``key`` the offending field, so
    ``vigil check`` can print exactly what to fix.
    """

    def __init__(self, message: str, *, where: str = "", key: str = "") -> None:
        parts = [p for p in (where, key) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.where = where
        self.key = key


class ValidationError(VigilError):
    """Input from a caller is malformed; ``field`` is a dotted path such as ``alerts[0].labels``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


class NotFoundError(VigilError):
    """The incident (or other object) asked for does not exist."""


class TransitionError(VigilError):
    """An incident cannot move from its current state to the one asked for."""

    def __init__(self, message: str, *, current: str) -> None:
        super().__init__(message)
        self.current = current


class StorageError(VigilError):
    """The database failed; the operation changed nothing and may be retried."""

    retryable = True


def refused_value(exc: BaseException) -> str | None:
    """What the database said when it refused a *value* (SQLSTATE class 22, "data
    exception": NUL in text, a character the encoding lacks, a number out of range, text
    too long), or that the driver could not encode it (a lone surrogate); None for any other
    failure. Such a refusal is the same on every retry, so it is the caller's 4xx, never a
    "retry later": looked for through the driver's wrapping (``orig``, causes)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, UnicodeError):
            return str(current)
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith("22"):
            return str(current).splitlines()[0] if str(current) else sqlstate
        orig = getattr(current, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]
    return None
