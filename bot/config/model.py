"""The shared layer under every pydantic-validated section of ``vigil.yaml``. Pure.

A section declares a :class:`ConfigModel` (unknown keys refused, frozen) whose fields carry
today's messages in their validators; :func:`validate_section` runs it and turns pydantic's
``ValidationError`` into the one ``ConfigError`` a user reads, naming the key the way every
message of Vigil names it (``sources.http_checks[0].url``). So pydantic does the walking
(mappings, lists, required and unknown keys) and the words stay Vigil's.

A check that spans fields (a duplicate name in a list, one setting against another) raises
:func:`problem` with ``at=``: the path below the validated field that the message is about,
since pydantic itself can only point at the field that ran the check.

Where a field's value is one of Vigil's own types (``BusinessDays | timedelta``), validate it
with ``PlainValidator`` (the function is the whole check). ``SkipValidation`` would skip the
``BeforeValidator`` too, silently accepting anything.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from bot.config.checks import unknown_key
from bot.core.errors import ConfigError

__all__ = ["ConfigModel", "config_error", "problem", "validate_nested", "validate_section"]

Model = TypeVar("Model", bound="ConfigModel")

#: Pydantic's own complaints about a value's shape, in Vigil's words.
_SHAPES: Mapping[str, str] = {
    "missing": "is required",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
}
_VIGIL = "vigil_config"


class ConfigModel(BaseModel):
    """A section (or part of one): a typo'd key is an error, never silently ignored, and the
    parsed value cannot be changed after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _keys_as_written(cls, value: object) -> object:
        """YAML reads ``5:`` or ``on:`` as a number or ``true``: such a key is an unknown key
        named as written (``working_hours.5``), not pydantic's "Keys should be strings"."""
        if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
            return {str(k): v for k, v in value.items()}
        return value


def problem(message: str, *, at: Sequence[str | int] = ()) -> PydanticCustomError:
    """A validator's error carrying today's exact ``message``; ``at`` is the path below the
    field being validated that the message names (``(1, "name")`` → ``…[1].name``)."""
    return PydanticCustomError(_VIGIL, "{message}", {"message": message, "at": tuple(at)})


def validate_section(
    model: type[Model],
    value: object,
    *,
    where: str,
    key: str,
    context: Mapping[str, object] | None = None,
) -> Model:
    """``model`` validated from ``value`` (the raw YAML under ``key``), or the ConfigError
    a user sees for the first problem. ``context`` reaches every validator that takes
    ``ValidationInfo`` (names known elsewhere in the file, e.g. which schedules exist)."""
    try:
        return model.model_validate(value, context=context)
    except PydanticValidationError as exc:
        raise config_error(exc, model, where=where, key=key) from None


def config_error(
    exc: PydanticValidationError, model: type[BaseModel], *, where: str, key: str
) -> ConfigError:
    """The ConfigError for the first problem pydantic found validating ``model`` at ``key``.

    An unknown key is reported before anything else at any depth, as the hand-written
    checks did: a typo'd key explains the "missing" one that follows from it.
    """
    loc, message = _first(exc, model)
    return ConfigError(message, where=where, key=_join(key, loc))


def validate_nested(model: type[Model], value: object, info: ValidationInfo) -> Model:
    """``model`` validated inside another model's validator, for a value whose model depends
    on the value itself (a classification entry is a condition or an ``any_of`` group; a
    union would put its tag in the key). Its first problem is raised again with its path,
    so the outer key names it (``rules[0].all_of[1].any_of[0].op``)."""
    try:
        return model.model_validate(value, context=info.context)
    except PydanticValidationError as exc:
        loc, message = _first(exc, model)
        raise problem(message, at=loc) from None


def _first(
    exc: PydanticValidationError, model: type[BaseModel]
) -> tuple[tuple[str | int, ...], str]:
    """The path and message of the problem to report, the unknown key first."""
    errors = exc.errors()
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    if first["type"] == "extra_forbidden":
        return loc, unknown_key(_fields(_model_at(model, loc[:-1])))
    return loc + tuple((first.get("ctx") or {}).get("at", ())), _message(first)


def _message(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == _VIGIL:
        return str(ctx["message"])
    if error["type"] == "value_error" and "error" in ctx:
        return str(ctx["error"])  # a validator's ValueError: its text, without "Value error, "
    return _SHAPES.get(error["type"], error["msg"])


def _join(key: str, loc: Sequence[str | int]) -> str:
    """``sources`` + ``("http_checks", 0, "url")`` → ``sources.http_checks[0].url``."""
    out = key
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class validating the value at ``loc`` under ``root``, found by walking the
    field annotations (lists by index, mappings by key, ``X | None`` to ``X``)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return None
            current = info.annotation
            continue
        args = typing.get_args(current)
        if not args:
            return None
        current = args[-1]  # list[X] → X; dict[K, V] → V
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, …]`` → X; ``X | None`` → X."""
    annotation = _unwrap_alias(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return _unwrap(rest[0])
    return annotation


def _unwrap_alias(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation
