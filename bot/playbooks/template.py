"""Placeholders in step parameters: ``{{ model }}``, ``{{ version }}``, ``{{ incident }}`` …

Only string values are templates (keys never are). A value that is exactly one placeholder
keeps the input's own type (``{{ incident }}`` stays an int, an absent optional version stays
None, a ``Secret`` stays a ``Secret``); anything else renders to text in a sandbox with
``StrictUndefined``, so a typo is an error instead of an empty string. Inputs are values,
never templates, so what a person types in chat cannot run template code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

from bot.core.secret import Secret

RESERVED = frozenset({"previous", "steps"})  # outcomes of earlier steps, filled by the runner
_WHOLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Secret):
        return value.reveal()  # the runner redacts it from every message
    return value


_ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # chat text and JSON values, not HTML
    finalize=_finalize,
)


class TemplateError(Exception):
    """A placeholder could not be filled; ``field`` is the dotted parameter path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


def placeholders(value: Any, field: str) -> set[str]:
    """Every name the value's templates use; a syntax error raises ``TemplateError``."""
    if isinstance(value, str):
        try:
            return set(meta.find_undeclared_variables(_ENV.parse(value)))
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(field, f"bad placeholder: {exc.message}") from exc
    if isinstance(value, Mapping):
        return set().union(*(placeholders(v, f"{field}.{k}") for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(placeholders(v, f"{field}[{i}]") for i, v in enumerate(value)))
    return set()


def render(value: Any, context: Mapping[str, Any], field: str) -> Any:
    """The value with its placeholders filled from ``context``."""
    if isinstance(value, str):
        whole = _WHOLE.match(value.strip())
        if whole and whole.group(1) in context:
            return context[whole.group(1)]
        try:
            return _ENV.from_string(value).render(context)
        except jinja2.UndefinedError as exc:
            raise TemplateError(field, f"cannot fill placeholder: {exc.message}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(field, f"bad placeholder: {exc.message}") from exc
    if isinstance(value, Mapping):
        return {k: render(v, context, f"{field}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context, f"{field}[{i}]") for i, v in enumerate(value)]
    return value
