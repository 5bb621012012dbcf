"""``vigil model …``: set up and inspect the model registry that ``/rollback`` acts on.

``list [MODEL]``, ``register``, ``promote``, ``canary``, ``retire`` and ``history``; the two
actions on reference profiles have modules of their own, so these load no model-quality maths
or dataset reader: ``references MODEL`` (:mod:`bot.cli.verbs.model.references`) and
``reference MODEL FILE`` (:mod:`bot.cli.verbs.model.reference`). Each prints what it did
or found in plain lines and returns; the registry's refusals (an unknown model, no such
version, a canary that would take the whole traffic) are ``VigilError``s, which the CLI
prints as one line and exits 1.
Changes are recorded with the actor ``cli:$USER``, on the registry ``registry:`` in
vigil.yaml names (the built-in one, MLflow or a serving webhook), as ``/rollback`` does.
Of vigil.yaml these read the top level and ``registry:`` only (:func:`registry_of`).
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import actor, quiet, when
from bot.cli.database import once, printed
from bot.config.base import ConfigFile
from bot.core.clock import utcnow
from bot.registry.base import ModelRegistry, VersionInfo
from bot.registry.build import build_registry, close_registry
from bot.registry.settings import RegistrySettings, parse_registry
from bot.store.db import Database


def main(args: argparse.Namespace) -> int:
    """Carry out the action and print what it did; 1 after one line saying why not."""
    config = quiet(args)
    where = registry_of(config)
    return printed(asyncio.run(once(config.settings, lambda db: _run(args, db, where))))


def registry_of(config: ConfigFile) -> RegistrySettings:
    """``registry:`` parsed as the running bot parses it (``Settings.registry``)."""
    return parse_registry(config.top.registry, config.env, config.where)


async def _run(args: argparse.Namespace, db: Database, where: RegistrySettings) -> str:
    registry = build_registry(where, db, utcnow)
    try:
        return await run(args, registry, who=actor())
    finally:
        await close_registry(registry)


async def run(
    args: argparse.Namespace,
    registry: ModelRegistry,
    *,
    who: str,
) -> str:
    """Carry out one ``vigil model`` action; the text to print."""
    cmd = args.model_command
    if cmd == "list":
        return await _list(registry, args.model)
    if cmd == "history":
        events = await registry.history(args.model)
        if not events:
            return f"{args.model} has no recorded changes."
        return "\n".join(
            f"{when(e.at)}  {e.version}  {e.kind}  by {e.actor}: {e.text}" for e in events
        )
    model, version = args.model, args.version
    if cmd == "register":
        info = await registry.register(
            model, version, stage=args.stage, traffic=args.traffic, actor=who, notes=args.notes
        )
        return f"Registered {model} {version}: {_stage(info)}.\n" + await _list(registry, model)
    if cmd == "promote":
        before = await registry.stable(model)
        info = await registry.promote(model, version, actor=who)
        was = f"; {before.version} stays deployable as a shadow" if before else ""
        return f"{model} {info.version} is now stable{was}.\n" + await _list(registry, model)
    if cmd == "canary":  # a share set by hand (the progressive rollout: model/rollout.py)
        info = await registry.set_canary(model, version, args.percent, actor=who)
        return f"{model} {version} is now {_stage(info)}.\n" + await _list(registry, model)
    assert cmd == "retire", cmd
    await registry.retire(model, version, actor=who)
    return f"{model} {version} is retired.\n" + await _list(registry, model)


async def _list(registry: ModelRegistry, model: str | None) -> str:
    if model is not None:
        rows = await registry.versions(model)
        return "\n".join([f"{model}:", *(_row(v) for v in rows)])
    models = await registry.models()
    if not models:
        return (
            "No models registered yet. Add one: vigil model register MODEL VERSION --stage stable"
        )
    lines = []
    for name in models:
        serving = [v for v in await registry.versions(name) if v.stage in ("stable", "canary")]
        serving.sort(key=lambda v: -v.traffic_percent)
        what = ", ".join(f"{v.version} {_stage(v)}" for v in serving) or "nothing serves yet"
        lines.append(f"{name}: {what}")
    return "\n".join(lines)


def _stage(v: VersionInfo) -> str:
    if v.stage in ("stable", "canary"):
        return f"{v.stage} at {v.traffic_percent} %"
    return v.stage


def _row(v: VersionInfo) -> str:
    parts = [f"  {v.version}", _stage(v), f"registered {when(v.created_at)}"]
    if v.promoted_at:
        parts.append(f"promoted {when(v.promoted_at)}")
    if v.rolled_back_at:
        parts.append(f"rolled back {when(v.rolled_back_at)}")
    if v.notes:
        parts.append(v.notes)
    return " · ".join(parts)
