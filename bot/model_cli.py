"""``vigil model …``: set up and inspect the model registry that ``/rollback`` acts on.

``list [MODEL]``, ``register``, ``promote``, ``canary``, ``retire``, ``history``. Each prints
what it did or found in plain lines and returns; the registry's refusals (an unknown model,
no such version, a canary that would take the whole traffic) are ``VigilError``s, which the
CLI prints as one line and exits 1. Changes are recorded with the actor ``cli:$USER``.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import datetime

from bot.registry.base import STAGES, ModelRegistry, VersionInfo

NEW_STAGES = tuple(s for s in STAGES if s != "retired")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``model`` command and its subcommands."""
    model = sub.add_parser(
        "model",
        help="list, register, promote, canary and retire model versions (what /rollback uses)",
        description="Manage the model versions in Vigil's built-in registry: the versions "
        "/rollback and the containment playbook switch between.",
    )
    model.add_argument("--config", help="path of vigil.yaml")
    actions = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every model, or one model's versions")
    listing.add_argument("model", nargs="?", metavar="MODEL")
    register = actions.add_parser("register", help="add a version (a shadow unless --stage)")
    _model_version(register)
    register.add_argument("--stage", choices=NEW_STAGES, default="shadow")
    register.add_argument(
        "--traffic", type=int, default=0, metavar="N", help="percent of traffic, for a canary"
    )
    register.add_argument("--notes", default="", help="a line about this version")
    _model_version(actions.add_parser("promote", help="make a version the stable one"))
    canary = actions.add_parser("canary", help="give a version PERCENT %% of the traffic")
    _model_version(canary)
    canary.add_argument("percent", type=int, metavar="PERCENT", help="1-99, or 0 to stop it")
    _model_version(actions.add_parser("retire", help="take a version out of service for good"))
    history = actions.add_parser("history", help="every change to a model's versions")
    history.add_argument("model", metavar="MODEL")


def _model_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("version", metavar="VERSION")


def actor() -> str:
    """``cli:<login name>``, so the registry's history says who changed what from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli:unknown"


async def run(args: argparse.Namespace, registry: ModelRegistry, *, who: str) -> str:
    """Carry out one ``vigil model`` action; the text to print."""
    cmd = args.model_command
    if cmd == "list":
        return await _list(registry, args.model)
    if cmd == "history":
        events = await registry.history(args.model)
        if not events:
            return f"{args.model} has no recorded changes."
        return "\n".join(
            f"{_when(e.at)}  {e.version}  {e.kind}  by {e.actor}: {e.text}" for e in events
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
    if cmd == "canary":
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
    parts = [f"  {v.version}", _stage(v), f"registered {_when(v.created_at)}"]
    if v.promoted_at:
        parts.append(f"promoted {_when(v.promoted_at)}")
    if v.rolled_back_at:
        parts.append(f"rolled back {_when(v.rolled_back_at)}")
    if v.notes:
        parts.append(v.notes)
    return " · ".join(parts)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%SZ")
