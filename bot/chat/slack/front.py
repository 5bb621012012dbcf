"""Slack in: slash commands, buttons and the new-incident modal, translated to Vigil's commands.

Only translation lives here (as in Bolt's own adapters): a Slack payload becomes a call to
the same ``CommandRunner`` the console uses, and its ``Reply`` becomes an ephemeral or
in-channel response. Every listener acknowledges first, within Slack's 3 seconds, and does
the database and playbook work afterwards, answering through ``response_url``. What goes
*out* because something changed (cards, thread replies, page DMs) does not go through here
but through the outbox (``bot.chat.slack.outbound``), so nothing is lost when Slack is down.

No Web API call is made on a request's path before the ack: Bolt's usual single-workspace
authorization calls ``auth.test`` there, and after a restart while Slack's Web API was
unreachable that turned every slash command into a 500. Requests are authorized from what
:class:`bot.chat.slack.identity.BotIdentity` learned at start and in the background.

Answers reuse one HTTP session (keep-alive, ``answers.py``), not one per answer as Bolt's.
Permissions: only members of the configured responder groups may roll back, contain,
change severity, start and stop rollouts, or silence alerts; anyone else gets an ephemeral
refusal and the attempt is on the timeline.
Checks before Bolt (``inbound``): the signature over the raw bytes, a timestamp of digits
within 5 minutes, a body that parses as what it claims; a refusal is a 4xx JSON body and one
short log line, never the body. Repeats (``replay``): a replayed request (same signature)
and Slack's retried deliveries (``X-Slack-Retry-Num``) of a request already run are answered
200 and dropped; a double-clicked button meets the state machine (a second ack is refused)
or the rollback guard (the version it would replace is no longer serving).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.commands import parse as p
from bot.chat.commands import spec
from bot.chat.commands.reply import Reply
from bot.chat.commands.rollback import Rollback, parse_rollback
from bot.chat.commands.rollout import parse_rollout
from bot.chat.commands.run import CommandRunner
from bot.chat.commands.silences.parse import parse_silence
from bot.chat.slack.answers import KeepAliveRespond, answer, refused
from bot.chat.slack.blocks.actions import (
    ACK,
    CONFIRM,
    CONTAIN,
    ESCALATE,
    RESOLVE,
    ROLLBACK,
    ROLLBACK_CANCEL,
    ROLLBACK_CONFIRM,
)
from bot.chat.slack.blocks.replies import rollback_confirm
from bot.chat.slack.gate import inbound
from bot.chat.slack.gate.bolt_check import QuietRequestVerification
from bot.chat.slack.gate.guard import Guard, actor_of
from bot.chat.slack.gate.replay import SeenRequests
from bot.chat.slack.identity import BotIdentity
from bot.chat.slack.modals import (
    NEW_INCIDENT_CALLBACK,
    new_incident_modal,
    parse_new_incident_submission,
)
from bot.chat.slack.settings import SlackSettings
from bot.core.errors import VigilError
from bot.incidents.service import IncidentService
from bot.registry.base import ModelRegistry

log = logging.getLogger(__name__)

_RETRIES_S = 900  # Slack retries a delivery for about 6 minutes; bodies are kept for 15
_NO_FORM = (
    "⚠️ The new-incident form could not be opened (Slack did not answer). Open one with "
    f"{spec.USAGE['new']}"
)


class SlackFront:
    """The Bolt app and the ``/slack/events`` route that serves it from Vigil's own server."""

    def __init__(
        self,
        settings: SlackSettings,
        client: AsyncWebClient,
        *,
        commands: CommandRunner,
        incidents: IncidentService,
        registry: ModelRegistry,
        identity: BotIdentity,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self._commands = commands
        self._incidents = incidents
        self._guard = Guard(settings, incidents)
        self._registry = registry
        self._wall = wall  # Slack's timestamps are wall-clock seconds
        self._secret = settings.signing_secret.reveal().encode()
        self._signatures = SeenRequests()  # replays: the same signed request again
        self._bodies = SeenRequests()  # Slack's retries: the same body, signed again
        self._locks: dict[str, asyncio.Lock] = {}
        self._http: aiohttp.ClientSession | None = None  # for response_url, made on first use
        # Bolt gets a client without the token so that it takes ``authorize`` (no auth.test
        # on the request path) instead of its single-workspace authorization; each request's
        # client is given the token by that ``authorize``.
        bolt_client = AsyncWebClient(base_url=client.base_url, timeout=client.timeout)
        self.app = AsyncApp(
            client=bolt_client,
            authorize=identity.authorizer(),
            signing_secret=settings.signing_secret.reveal() or None,
            request_verification_enabled=False,  # done by ``handle``, which logs no body
            process_before_response=False,
            raise_error_for_unhandled_request=False,
        )
        if self._secret and not settings.socket_mode:
            self.app.use(QuietRequestVerification(settings.signing_secret.reveal()))
        self.app.use(self._keep_alive)
        self.app.command("/incident")(self._on_incident)
        self.app.command("/rollback")(self._on_rollback)
        self.app.command("/rollout")(self._plain(parse_rollout, commands.run_rollout))
        self.app.command("/silence")(self._plain(parse_silence, commands.run_silence))
        for action_id in (ACK, ESCALATE, CONTAIN, RESOLVE):
            self.app.action(action_id)(self._on_button)
        for action_id in (ROLLBACK, ROLLBACK_CONFIRM):
            self.app.action(action_id)(self._on_rollback_confirm)
        self.app.action(ROLLBACK_CANCEL)(self._on_rollback_cancel)
        self.app.action(CONFIRM)(self._on_confirm)
        self.app.view(NEW_INCIDENT_CALLBACK)(self._on_new_incident)

    async def close(self) -> None:
        """Close the answers' HTTP session (the backend stops)."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _keep_alive(
        self, context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        """A Bolt middleware: the listeners' ``respond`` answers over the shared session."""
        if context.response_url:
            if self._http is None or self._http.closed:
                self._http = aiohttp.ClientSession()
            context["respond"] = KeepAliveRespond(context.response_url, self._http)
        await next()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp route: the signature and the body are checked (a 4xx if wrong), a
        request already run is answered and dropped, and Bolt dispatches the rest."""
        body = await request.read()
        now = self._wall()
        signature = request.headers.get("X-Slack-Signature")
        ts = (
            inbound.verify(
                body,
                request.headers.get("X-Slack-Request-Timestamp"),
                signature,
                secret=self._secret,
                now=now,
            )
            if self._secret
            else inbound.Refusal(401, "X-Slack-Signature", "cannot be checked: no signing secret")
        )
        if isinstance(ts, inbound.Refusal):
            return refused(ts, len(body))
        text = inbound.body_text(body, request.headers.get("Content-Type"))
        if isinstance(text, inbound.Refusal):
            return refused(text, len(body))
        if not self._signatures.first(str(signature), until=ts + inbound.WINDOW_S, now=now):
            log.info("Slack: a request already run came again (same signature); not run again")
            return web.Response(status=200, text="")
        digest = hashlib.sha256(body).hexdigest()
        if request.headers.get("X-Slack-Retry-Num") and self._bodies.seen(digest, now=now):
            return web.Response(status=200, text="")  # handled the first time; do nothing again
        self._bodies.add(digest, until=now + _RETRIES_S, now=now)
        try:
            bolt_request = AsyncBoltRequest(
                body=text,
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
            form = inbound.parsed(text, request.headers.get("Content-Type"))
            if form != bolt_request.body:  # Bolt's parse misread it (see inbound.parsed)
                bolt_request.body = form
                bolt_request.context = build_async_context(AsyncBoltContext({}), form)
        except (TypeError, AttributeError, KeyError, ValueError):  # a signed but odd shape
            return refused(
                inbound.Refusal(400, "body", "is not a Slack request Vigil knows"), len(body)
            )
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request))

    # -- slash commands ------------------------------------------------------------------

    async def _on_incident(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()  # first, always: Slack gives us 3 seconds
        text = html.unescape(command.get("text", ""))
        user = command["user_id"]
        if not text.strip():
            modal = new_incident_modal(private_metadata=command.get("channel_id", ""))
            try:
                await client.views_open(trigger_id=command["trigger_id"], view=modal)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                # The form needs the Web API; the answer does not: say how to do without it.
                log.warning("Slack: the new-incident form did not open (%s)", type(exc).__name__)
                await answer(respond, Reply(_NO_FORM, ephemeral=True))
            return
        parsed = p.parse_incident(text)
        refusal = await self._guard.refuse(user, parsed)
        reply = refusal or await self._commands.run_incident(text, actor=actor_of(user))
        await answer(respond, reply)

    async def _on_rollback(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        text = html.unescape(command.get("text", ""))
        user = command["user_id"]
        parsed = parse_rollback(text)
        if not isinstance(parsed, Rollback) or parsed.dry_run:
            await answer(respond, await self._commands.run_rollback(text, actor=actor_of(user)))
            return
        refusal = await self._guard.refuse_rollback(user, parsed.incident_id)
        if refusal:
            await answer(respond, refusal)
            return
        try:  # the confirmation step: say which version replaces which, change nothing yet
            plan = await self._registry.rollback(
                parsed.model, parsed.version, actor=actor_of(user), dry_run=True
            )
        except VigilError as exc:
            await answer(respond, Reply(f"⚠️ {exc.message} Nothing changed.", ephemeral=True))
            return
        confirm = rollback_confirm(
            parsed.model, plan.from_version or "", plan.to_version, parsed.incident_id
        )
        await respond(
            text=f"Roll back {parsed.model}: replace {plan.from_version} with {plan.to_version}?",
            blocks=confirm,
            response_type="ephemeral",
        )

    def _plain(self, parse: Callable[[str], object], run: Callable[..., Awaitable[Reply]]) -> Any:
        """A slash command with no step of Slack's own (``/rollout``, ``/silence``): the
        responder guard on the parsed text, then the command runner's reply."""

        async def handler(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
            await ack()
            text, user = html.unescape(command.get("text", "")), command["user_id"]
            refusal = await self._guard.refuse(user, parse(text))
            await answer(respond, refusal or await run(text, actor=actor_of(user)))

        return handler

    # -- buttons ---------------------------------------------------------------------------

    async def _on_button(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        user = body["user"]["id"]
        incident_id = int(action["value"])
        actor = actor_of(user)
        # The same command path as the slash command: the same guard, words and timeline.
        verb = {
            ACK: "ack",
            ESCALATE: "escalate",
            CONTAIN: "contain",
            RESOLVE: "resolve",
        }[action["action_id"]]
        text = f"{verb} {incident_id}"
        parsed = p.parse_incident(text)
        refusal = await self._guard.refuse(user, parsed)
        reply = refusal or await self._commands.run_incident(text, actor=actor)
        if reply.ephemeral or verb == "escalate":  # a refusal or an error: only the clicker
            # sees it; so does an escalation done from a page DM, which no card update shows
            await answer(respond, dataclasses.replace(reply, ephemeral=True), replace=False)
        # success: the card updates itself through the outbox; nothing else to say

    async def _on_rollback_confirm(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """Confirm on the /rollback step, or the card's Roll back button (whose confirm
        dialog already named the versions): the same value, the same guarded rollback."""
        await ack()
        value = json.loads(body["actions"][0]["value"])
        await self._rollback_confirmed(body["user"]["id"], value, respond)

    async def _on_confirm(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """A preview's button (a silence): the command it names, run as if the clicker typed
        it, through the same guard and checks; the outcome is a new answer."""
        await ack()
        slash, _, text = str(body["actions"][0].get("value", "")).partition(" ")
        runs = {
            "/silence": (parse_silence, self._commands.run_silence),
            "/incident": (p.parse_incident, self._commands.run_incident),
        }
        if slash not in runs:
            return
        parse, run = runs[slash]
        user = body["user"]["id"]
        refusal = await self._guard.refuse(user, parse(text))
        await answer(respond, refusal or await run(text, actor=actor_of(user)))

    async def _on_rollback_cancel(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(text="Rollback cancelled. Nothing changed.", replace_original=True)

    async def _rollback_confirmed(
        self, user: str, value: dict[str, Any], respond: AsyncRespond
    ) -> None:
        model = str(value["model"])
        incident = value.get("incident")
        refusal = await self._guard.refuse_rollback(user, incident)
        if refusal:
            await answer(respond, refusal, replace=False)
            return
        async with self._locks.setdefault(model, asyncio.Lock()):  # a double click waits
            await self._rollback_once(user, model, incident, value, respond)

    async def _rollback_once(
        self, user: str, model: str, incident: object, value: dict[str, Any], respond: AsyncRespond
    ) -> None:
        expected = value.get("from_version")
        stable = await self._registry.stable(model)
        if expected and (stable is None or stable.version != expected):
            now = stable.version if stable else "nothing"
            await answer(
                respond,
                Reply(
                    f"⚠️ Already done: {model} now serves {now}, not {expected}. Nothing changed.",
                    ephemeral=True,
                ),
                replace=False,
            )
            return
        text = model + (f" {value['to_version']}" if value.get("to_version") else "")
        text += f" --incident {incident}" if incident else ""
        reply = await self._commands.run_rollback(text, actor=actor_of(user))
        await answer(respond, reply, replace=True)

    # -- the modal -------------------------------------------------------------------------

    async def _on_new_incident(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = parse_new_incident_submission(view["state"]["values"])
        if "errors" in values:
            await ack(response_action="errors", errors=values["errors"])
            return
        await ack()
        user = body["user"]["id"]
        try:
            opened = await self._incidents.open(
                title=str(values["title"]),
                actor=actor_of(user),
                severity=values.get("severity"),
                service=values.get("service"),
                model=values.get("model"),
            )
        except VigilError as exc:
            await client.chat_postEphemeral(
                channel=view.get("private_metadata") or user, user=user, text=f"⚠️ {exc.message}"
            )
            return
        if values.get("description"):
            await self._incidents.note(opened.id, str(values["description"]), actor=actor_of(user))
