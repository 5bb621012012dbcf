"""Which columns of a reference file play a role (id, prediction, confidence, label,
timestamp) and which are features.

Kept apart from reading: it works on the header's names alone, before any data is read, so
the user hears at once about a ``--prediction`` column the file does not have, or a column
taken for the wrong thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.errors import ValidationError

ROLES = ("id", "prediction", "confidence", "label", "timestamp")
"""Column roles, in the order they are resolved; a role's conventional column is its name."""

_SHOWN_COLUMNS = 30


@dataclass(frozen=True)
class Roles:
    """Which columns of the file are not features.

    A role left ``None`` takes the column of its conventional name (``id``, ``prediction``,
    ``confidence``, ``label``, ``timestamp``) when the file has one; a role named explicitly
    must exist. ``ignore`` drops columns (also a conventional role column the user does not
    want); ``categorical`` forces features categorical (numeric codes such as a merchant
    category code), which inference would otherwise take as numbers.
    """

    id: str | None = None
    prediction: str | None = None
    confidence: str | None = None
    label: str | None = None
    timestamp: str | None = None
    ignore: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    roles: dict[str, str]
    """Role to column, for the roles the file has."""
    features: tuple[str, ...]
    ignored: tuple[str, ...]


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN_COLUMNS])
    more = len(names) - _SHOWN_COLUMNS
    return f"{shown}, … ({more} more)" if more > 0 else shown


def assign(path: Path, names: Sequence[str], roles: Roles) -> Assignment:
    """Resolve every role to a column of ``names``; whatever is left is a feature."""
    present = set(names)

    def absent(option: str, name: str) -> ValidationError:
        return ValidationError(
            option, f"{path.name} has no column {name!r}; its columns: {_listing(names)}"
        )

    explicit = {role: getattr(roles, role) for role in ROLES if getattr(roles, role)}
    owner: dict[str, str] = {}
    for role, name in explicit.items():
        if name not in present:
            raise absent(f"--{role}", name)
        if name in owner:
            raise ValidationError(f"--{role}", f"{name!r} is already the {owner[name]} column")
        owner[name] = role
    for option, listed in (("--ignore", roles.ignore), ("--categorical", roles.categorical)):
        for name in listed:
            if name not in present:
                raise absent(option, name)
            if name in owner:
                raise ValidationError(option, f"{name!r} is the {owner[name]} column")
    ignored = set(roles.ignore)
    for name in roles.categorical:
        if name in ignored:
            raise ValidationError("--categorical", f"{name!r} is also ignored (--ignore)")
    assigned = dict(explicit)
    for role in ROLES:
        if role not in assigned and role in present and role not in owner and role not in ignored:
            assigned[role] = owner[role] = role
    for name in roles.categorical:
        if name in owner:  # took a conventional role
            raise ValidationError(
                "--categorical", f"{name!r} is the {owner[name]} column, not a feature"
            )
    features = tuple(n for n in names if n not in owner and n not in ignored)
    if not features:
        raise ValidationError(
            "file",
            f"{path}: has no feature columns (every column is a role or ignored): "
            f"{_listing(names)}",
        )
    return Assignment(assigned, features, tuple(n for n in names if n in ignored))
