"""Model versions and which one serves: a small Protocol with built-in and in-memory adapters.

Import the adapter you need (``bot.registry.builtin``, ``bot.registry.fake``); the contract
and its errors are in ``bot.registry.base``.
"""

from bot.registry.base import (
    STAGES,
    ModelRegistry,
    RegistryError,
    RegistryEvent,
    RollbackResult,
    Stage,
    VersionInfo,
)

__all__ = [
    "STAGES",
    "ModelRegistry",
    "RegistryError",
    "RegistryEvent",
    "RollbackResult",
    "Stage",
    "VersionInfo",
]
