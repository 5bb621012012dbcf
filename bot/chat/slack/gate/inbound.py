"""Is this request really from Slack, and is its body what it claims? Checked before Bolt.

Pure (bytes and header values in, a verdict out), so each refusal is tested without HTTP.

Why Vigil checks instead of leaving it to Bolt's request verification:

* Bolt logs a refused request's whole body at INFO: a megabyte of log per unsigned post,
  and a newline in the body forges a log line. A refusal here is one short line of fixed
  wording (``Refusal.message``) and a size; nothing the sender wrote reaches the log.
* Bolt turns a non-numeric ``X-Slack-Request-Timestamp`` (``abc``, ``²``, 5,000 digits)
  into a 500 (``int()`` raises), and so does a signature with a non-ASCII character
  (``hmac.compare_digest`` on ``str``). Here both are a 401.
* Bolt parses the body after the signature, and a signed body that is not what it claims
  (a ``payload`` field that is not JSON, a JSON body that is not an object, bytes that are
  not UTF-8) raised there: a 500. Here it is a 400 naming the part, and nothing runs.
* Slack signs the raw bytes; Bolt verified the body after decoding it (as the charset the
  sender named). Here the bytes are verified as they came.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

WINDOW_S = 300
"""Slack's rule: a request whose timestamp is more than five minutes from now is refused
(a captured request cannot be replayed later than that)."""

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() also takes "١٢" and "²"
_SIGNATURE_FIELD = "X-Slack-Signature"
_TIMESTAMP_FIELD = "X-Slack-Request-Timestamp"


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: its HTTP status, the part at fault, and a fixed sentence
    (never text taken from the request, so it is safe to log and to answer with)."""

    status: int
    field: str
    message: str

    def json(self) -> dict[str, str]:
        code = "unauthorized" if self.status == 401 else "bad_request"
        return {"error": code, "field": self.field, "message": self.message}


def timestamp_of(value: str | None) -> int | Refusal:
    """The request's timestamp as seconds, or why it cannot be one."""
    if not value:
        return Refusal(401, _TIMESTAMP_FIELD, "missing: this request is not signed by Slack")
    if not _TIMESTAMP.fullmatch(value):
        return Refusal(401, _TIMESTAMP_FIELD, "must be whole seconds since 1970 (digits only)")
    return int(value)


def verify(
    body: bytes, timestamp: str | None, signature: str | None, *, secret: bytes, now: float
) -> int | Refusal:
    """The request's timestamp if Slack signed ``body`` at it within :data:`WINDOW_S` of
    ``now``, else why not (a 401)."""
    ts = timestamp_of(timestamp)
    if isinstance(ts, Refusal):
        return ts
    if abs(now - ts) > WINDOW_S:
        return Refusal(401, _TIMESTAMP_FIELD, "more than 5 minutes from now (stale or replayed)")
    if not signature:
        return Refusal(401, _SIGNATURE_FIELD, "missing: this request is not signed by Slack")
    base = b"v0:" + str(ts).encode() + b":" + body
    expected = b"v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        return Refusal(
            401, _SIGNATURE_FIELD, "does not match: check SLACK_SIGNING_SECRET is this app's"
        )
    return ts


def body_text(body: bytes, content_type: str | None) -> str | Refusal:
    """The body as the text Bolt will parse, once it is sure Bolt's parse gives an object
    holding nothing a database refuses (a lone surrogate, NUL); else why not (a 400).

    Bolt's parse, mirrored: JSON when the content type is ``application/json`` or the body
    starts with ``{``; else a form, whose ``payload`` field (interactivity) holds JSON.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body", "is not UTF-8 text")
    if not text:
        return text
    media = (content_type or "").split(";")[0]
    if media == "application/json" or text.startswith("{"):
        return _checked(_json_object(text, "body"), "body", text)
    try:
        fields = parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return Refusal(400, "body", "a form field is not UTF-8 once decoded")
    payload = dict(fields).get("payload")
    if payload is not None:  # interactivity: only the payload field counts
        return _checked(_json_object(payload, "payload"), "payload", text)
    return _checked(dict(fields), "body", text)


def parsed(text: str, content_type: str | None) -> dict[str, Any]:
    """The body :func:`body_text` accepted, parsed as Slack meant it.

    Not Bolt's parse: Bolt takes any form holding the letters ``payload`` anywhere for an
    interaction, so ``/incident note 1 bad payload from upstream`` reached no listener (a
    404 to Slack, and the note lost). Here only a ``payload`` *field* makes one."""
    if not text:
        return {}
    media = (content_type or "").split(";")[0]
    if media == "application/json" or text.startswith("{"):
        value: dict[str, Any] = json.loads(text)
        return value
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        payload: dict[str, Any] = json.loads(fields["payload"])
        return payload
    return dict(fields)


def _json_object(text: str, field: str) -> dict[str, Any] | Refusal:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return Refusal(400, field, "is not JSON")
    if not isinstance(value, dict):
        return Refusal(400, field, "must be a JSON object")
    return value


def _checked(parsed: dict[str, Any] | Refusal, field: str, text: str) -> str | Refusal:
    if isinstance(parsed, Refusal):
        return parsed
    for value in _strings(parsed):
        if "\x00" in value:
            return Refusal(400, field, "holds a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return Refusal(400, field, "holds a lone surrogate (\\ud800-\\udfff): not text")
    return text


def _strings(value: object) -> Iterator[str]:
    """Every key and string value inside a decoded JSON value, without recursion (a deeply
    nested body cannot exhaust the stack here)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
