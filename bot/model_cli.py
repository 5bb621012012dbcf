"""``vigil model …``: set up and inspect the model registry that ``/rollback`` acts on, and
store the reference profile the model monitor judges production rows against.

``list [MODEL]``, ``register``, ``promote``, ``canary``, ``retire``, ``history``,
``reference MODEL FILE`` and ``references MODEL``. Each prints
what it did or found in plain lines and returns; the registry's refusals (an unknown model,
no such version, a canary that would take the whole traffic) are ``VigilError``s, which the
CLI prints as one line and exits 1. Changes are recorded with the actor ``cli:$USER``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import datetime
from pathlib import Path

from bot.errors import VigilError
from bot.monitoring.store import ReferenceStore, StoredReference
from bot.quality.binning import DEFAULT_BINS
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
    _reference_parser(actions)
    references = actions.add_parser("references", help="every reference stored for a model")
    references.add_argument("model", metavar="MODEL")


def _reference_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ref = actions.add_parser(
        "reference",
        help="store the reference profile that production rows are judged against",
        description="Profile a reference dataset (the training or validation set the model "
        "was judged good on), CSV or Parquet, and store it as MODEL's reference: bin edges and "
        "counts per feature, category frequencies, ranges, the prediction and confidence "
        "distributions. No rows are stored. Columns named id, prediction, confidence, label "
        "and timestamp take those roles unless the options below name others; every other "
        "column is a feature. A running Vigil judges against it from its next poll, with an "
        "empty window.",
    )
    ref.add_argument("model", metavar="MODEL")
    ref.add_argument("file", type=Path, metavar="FILE", help="a .csv or .parquet file")
    ref.add_argument(
        "--version",
        help="the model version this reference belongs to (default: the registry's stable "
        "version, else 'unversioned')",
    )
    for role in ("id", "prediction", "confidence", "label", "timestamp"):
        ref.add_argument(f"--{role}", metavar="COLUMN", help=f"the {role} column")
    ref.add_argument(
        "--ignore", action="append", default=[], metavar="COLUMN", help="not a feature (repeat)"
    )
    ref.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COLUMN",
        help="treat a numeric column as categories, e.g. a region code (repeat)",
    )
    ref.add_argument(
        "--importances",
        metavar="FILE|NAME=W,...",
        help="feature importances at training time: a JSON object file or inline pairs",
    )
    ref.add_argument("--bins", type=int, default=DEFAULT_BINS, help="bins per numeric feature")


def _model_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL")
    p.add_argument("version", metavar="VERSION")


def actor() -> str:
    """``cli:<login name>``, so the registry's history says who changed what from a shell."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in the environment or the password database
        return "cli:unknown"


async def run(
    args: argparse.Namespace,
    registry: ModelRegistry,
    *,
    who: str,
    references: ReferenceStore | None = None,
    now: datetime | None = None,
) -> str:
    """Carry out one ``vigil model`` action; the text to print."""
    cmd = args.model_command
    if cmd in ("reference", "references"):
        assert references is not None, "the CLI passes the reference store"
        assert now is not None, "and the time"
        if cmd == "references":
            return _references(args.model, await references.history(args.model))
        return await _reference(args, registry, references, who=who, now=now)
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


async def _reference(
    args: argparse.Namespace,
    registry: ModelRegistry,
    references: ReferenceStore,
    *,
    who: str,
    now: datetime,
) -> str:
    # pyarrow (the CSV and Parquet reader) is imported here, not with this module: every
    # vigil command imports this module to build its parser, and only this one reads a file.
    from bot.monitoring.reference_file import Roles, load_reference, parse_importances

    roles = Roles(
        id=args.id,
        prediction=args.prediction,
        confidence=args.confidence,
        label=args.label,
        timestamp=args.timestamp,
        ignore=tuple(args.ignore),
        categorical=tuple(args.categorical),
    )
    importances = parse_importances(args.importances) if args.importances else None
    # Off the event loop: a million-row CSV takes seconds to read and bin.
    profile, summary = await asyncio.to_thread(
        load_reference, args.file, roles, importances=importances, bins=args.bins
    )
    version = args.version
    if version is None:
        stable = await _stable_version(registry, args.model)
        version = stable or "unversioned"
    stored = await references.save(
        args.model, version, profile, source=str(args.file), actor=who, now=now
    )
    lines = [
        f"Stored the reference of {args.model} {version} from {args.file} "
        f"(reference #{stored.id}).",
        *(f"  {line}" for line in summary.lines()),
        "A running Vigil judges production rows against it from its next model-quality poll; "
        "the model's window starts empty.",
        f"Send rows: POST /api/v1/models/{args.model}/predictions",
    ]
    if summary.confidence is None:
        lines.append(
            "  note: no confidence column, so accuracy cannot be estimated before labels arrive"
        )
    return "\n".join(lines)


async def _stable_version(registry: ModelRegistry, model: str) -> str | None:
    try:
        stable = await registry.stable(model)
    except VigilError:  # a model the registry does not know: references need no registry
        return None
    return stable.version if stable is not None else None


def _references(model: str, stored: list[StoredReference]) -> str:
    if not stored:
        return f"{model} has no reference yet. Store one: vigil model reference {model} FILE"
    lines = [f"{model} references, newest (the one in use) first:"]
    for ref in stored:
        lines.append(
            f"  #{ref.id}  {_when(ref.created_at)}  {ref.version}  {ref.n_rows:,} rows "
            f"from {ref.source}  by {ref.actor}"
        )
    return "\n".join(lines)


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
