"""The ``http:`` section of vigil.yaml: where the HTTP server listens and how much it reads.

    http:
      host: 127.0.0.1
      port: 8080
      max_body_bytes: 1048576        # larger alert posts get 413

Validated by a pydantic model (:mod:`bot.config.model`): a mistyped key such as ``prot:``
is refused, naming it, instead of leaving the server on the default port.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from bot.config.checks import whole_number
from bot.config.model import ConfigModel, problem

DEFAULT_MAX_BODY = 1024 * 1024


def _port(value: object) -> int:
    return whole_number(value, low=0, high=65535)


def _max_body(value: object) -> int:
    return whole_number(value, low=1024, high=64 * 1024 * 1024)


def _host(value: object) -> str:
    if not isinstance(value, str):
        raise problem(f"must be a host name or IP address such as 127.0.0.1, got {value!r}")
    return value


class HttpSection(ConfigModel):
    """``http:`` as written; ``vigil serve`` flags and ``VIGIL_HOST``/``VIGIL_PORT`` win
    over it, but the file is validated whole either way."""

    host: Annotated[str, BeforeValidator(_host)] = "127.0.0.1"
    port: Annotated[int, BeforeValidator(_port)] = 8080
    max_body_bytes: Annotated[int, BeforeValidator(_max_body)] = DEFAULT_MAX_BODY
