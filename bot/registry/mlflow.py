"""MLflow's model registry as a serving target, over its REST API 2.0 (aiohttp; the product
never imports the mlflow client library).

The stable version is the version an alias names (``champion`` by default), the canary the
version another alias names (``challenger``); your serving layer loads
``models:/NAME@champion``. A move is a compare-and-set on each alias it changes: read the
model's aliases, check each still points where Vigil's record says Vigil left it (if not,
refuse naming where it points now and what MLflow knows of who put it there, changing
nothing), set or delete it, read it back. Then the version that now serves is tagged
``vigil.actor``, ``vigil.previous_version`` and ``vigil.incident``. MLflow has no atomic
compare-and-set, so two writers at the very same moment are caught by the read-back.

The token (``VIGIL_MLFLOW_TOKEN``) is sent as ``Authorization: Bearer`` and appears in no
message, log line or row; messages name the server by scheme and host only.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.notify.http import describe
from bot.registry.base import RegistryError
from bot.registry.serving import Found, Move
from bot.registry.settings import MlflowSettings, host_of

if TYPE_CHECKING:  # at run time aiohttp is imported where a request is made
    import aiohttp

log = logging.getLogger(__name__)

API = "/api/2.0/mlflow"
PAGE = 1000


class MlflowError(RegistryError):
    """MLflow answered with an error (``code`` is its ``error_code``) or did not answer."""

    def __init__(self, message: str, *, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class MlflowTarget:
    """``ServingTarget`` on one MLflow tracking server; see the module docstring."""

    name = "mlflow"
    owns_versions = True

    def __init__(self, settings: MlflowSettings, *, timeout: float = 10.0) -> None:
        self._base = settings.tracking_uri.rstrip("/") + API
        self._stable = settings.stable_alias
        self._canary = settings.canary_alias
        self._token = settings.token
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self.label = f"MLflow at {host_of(settings.tracking_uri)}"

    async def models(self) -> list[str]:
        names: list[str] = []
        token = ""
        while True:
            params = {"max_results": str(PAGE), **({"page_token": token} if token else {})}
            page = await self._call("GET", "/registered-models/search", params=params)
            names += [str(m["name"]) for m in page.get("registered_models", [])]
            token = str(page.get("next_page_token") or "")
            if not token:
                return sorted(names)

    async def versions(self, model: str) -> list[Found]:
        found: list[Found] = []
        token = ""
        while True:
            params = {"filter": f"name='{_quoted(model)}'", "max_results": str(PAGE)}
            if token:
                params["page_token"] = token
            page = await self._call("GET", "/model-versions/search", params=params)
            for v in page.get("model_versions", []):
                stamp = int(v.get("creation_timestamp") or 0) / 1000
                found.append(Found(str(v["version"]), datetime.fromtimestamp(stamp, UTC)))
            token = str(page.get("next_page_token") or "")
            if not token:
                return sorted(found, key=lambda f: (f.created_at, _number(f.version)))

    async def stable(self, model: str) -> str | None:
        return (await self._aliases(model)).get(self._stable)

    async def apply(self, move: Move) -> None:
        """The compare-and-set described in the module docstring."""
        before = {
            self._stable: move.stable_before,
            self._canary: _single(self._canary, move.model, move.canaries_before),
        }
        after = {
            self._stable: move.stable_after,
            self._canary: _single(self._canary, move.model, move.canaries_after),
        }
        changed = [a for a in (self._stable, self._canary) if before[a] != after[a]]
        now = await self._aliases(move.model)
        for alias in changed:
            if now.get(alias) != before[alias]:
                raise await self._moved_outside(move.model, alias, before[alias], now.get(alias))
        for alias in changed:
            version = after[alias]
            body: dict[str, Any] = {"name": move.model, "alias": alias}
            if version is None:
                await self._call("DELETE", "/registered-models/alias", body=body)
            else:
                await self._call(
                    "POST", "/registered-models/alias", body={**body, "version": version}
                )
        back = await self._aliases(move.model)
        for alias in changed:
            if back.get(alias) != after[alias]:
                now_names = _what(back.get(alias))
                raise RegistryError(
                    f"{self.label}: Vigil set the {alias} alias of {move.model} to "
                    f"{_what(after[alias])}, but reading it back it names {now_names}: "
                    "someone else moved it at the same moment. Vigil's record is unchanged; "
                    f"look at {move.model} in MLflow before moving it again."
                )
        await self._tag(move, after, before, changed)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _tag(
        self,
        move: Move,
        after: dict[str, str | None],
        before: dict[str, str | None],
        changed: list[str],
    ) -> None:
        """Tag each version an alias now names; the alias has moved already, so a failure
        here is logged, not raised (the move happened and is recorded)."""
        for alias in changed:
            version = after[alias]
            if version is None:
                continue
            tags = {"vigil.actor": move.actor, "vigil.previous_version": before[alias] or ""}
            if move.incident is not None:
                tags["vigil.incident"] = str(move.incident)
            if alias == self._canary:
                tags["vigil.traffic_percent"] = str(move.traffic_after.get(version, 0))
            for key, value in tags.items():
                body = {"name": move.model, "version": version, "key": key, "value": value}
                try:
                    await self._call("POST", "/model-versions/set-tag", body=body)
                except RegistryError as exc:
                    log.warning("could not tag %s %s with %s: %s", move.model, version, key, exc)

    async def _moved_outside(
        self, model: str, alias: str, expected: str | None, actual: str | None
    ) -> RegistryError:
        who = " (MLflow does not record who moves an alias)"
        if actual is not None:
            try:
                got = await self._call(
                    "GET", "/model-versions/get", params={"name": model, "version": actual}
                )
                tags = {t["key"]: t["value"] for t in got["model_version"].get("tags", [])}
                if tags.get("vigil.actor"):
                    who = f" (version {actual} was last tagged vigil.actor={tags['vigil.actor']})"
            except RegistryError:
                pass
        where = f"points at version {actual}" if actual is not None else "is not set"
        return RegistryError(
            f"{self.label}: the {alias} alias of {model} {where}, not {_what(expected)} as "
            f"Vigil last left it: someone moved it to {_what(actual)} outside this Vigil{who}. "
            f"Nothing was changed. Check with whoever moved it; `vigil model history {model}` "
            "shows Vigil's record."
        )

    async def _aliases(self, model: str) -> dict[str, str]:
        got = await self._call("GET", "/registered-models/get", params={"name": model})
        aliases = got["registered_model"].get("aliases", [])
        return {str(a["alias"]): str(a["version"]) for a in aliases}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One REST call; its JSON, or ``MlflowError`` in words (never the token)."""
        import aiohttp  # here, not at the top: building the registry loads no HTTP client

        if self._session is None:
            headers = {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}
            timeout = aiohttp.ClientTimeout(total=self._timeout)
            self._session = aiohttp.ClientSession(timeout=timeout, headers=headers)
        what = f"{method} {path}"
        try:
            async with self._session.request(
                method, self._base + path, params=params, json=body
            ) as resp:
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = describe(exc, self._timeout).description
            raise MlflowError(f"{self.label} did not answer {what}: {reason}.") from None
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if 200 <= status < 300 and isinstance(data, dict):
            return data
        code = str(data.get("error_code", "")) if isinstance(data, dict) else ""
        said = str(data.get("message", "")) if isinstance(data, dict) else ""
        said = " ".join(said.split())[:300] or " ".join(text.split())[:200]
        raise MlflowError(
            f"{self.label} refused {what}: HTTP {status} {code}: {said}".rstrip(": "),
            code=code,
            status=status,
        )


def _single(alias: str, model: str, canaries: dict[str, int]) -> str | None:
    if len(canaries) > 1:
        listed = ", ".join(sorted(canaries))
        raise RegistryError(
            f"MLflow's {alias} alias names one version, but {model} would have canaries "
            f"{listed}; stop one first (vigil model canary {model} VERSION 0)."
        )
    return next(iter(canaries), None)


def _what(version: str | None) -> str:
    return f"version {version}" if version is not None else "unset"


def _quoted(name: str) -> str:
    return name.replace("\\", "\\\\").replace("'", "\\'")


def _number(version: str) -> int:
    return int(version) if version.isdigit() else 0
