"""Decoding a JSON body from the network: the checks every inbound value gets first.

Some JSON decodes into values Vigil cannot keep, and each used to fail deep inside a parser,
the database or the output: a 500, or on PostgreSQL a 503 with ``Retry-After`` that made
Alertmanager retry the same alert for ever. Refused here instead, once for every route, each
naming its field path (``alerts[0].annotations.summary``) so the sender can fix it:

* text holding NUL (``\\u0000``): PostgreSQL's text type cannot store it, and SQLite would
  store what PostgreSQL refuses, so both refuse it here alike;
* text holding a lone UTF-16 surrogate (``"\\ud800"``): it is not a character and has no
  UTF-8 encoding, so it can be neither stored, hashed into a fingerprint nor written out;
* an integer too large for a 64-bit float (more than about 1.8e308), which every number
  Vigil reads becomes; Python also refuses to read integers of more than 4,300 digits.

NaN and the infinities are left to the parsers: a NaN feature value means "missing", while
a sample value or an importance must be finite; each parser says which.

Pure: bytes in, a value out. Only a body that holds one of these is walked to name the
field; the rest (a whole alert storm, emoji and all) cost one extra pass at C speed at most.

Most bodies are decoded by ``orjson`` (three times faster than the standard parser, which
was a third of a predictions post). It reads the same values from plain UTF-8 JSON, but
not from every body: it turns integers beyond 64 bits into floats, and refuses NaN, UTF-16
and a BOM. So a body is handed to it only when one scan at C speed finds no long digit
run, NUL or surrogate escape in it, and anything orjson refuses goes to the standard
parser: the values, and every refusal, are the standard parser's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from bot.ingest.validate import child, fail, item

MAX_NUMBER_DIGITS = 309
"""Digits of the largest integer a float holds (1.797e308); longer ones are refused."""

_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
"""The only way a surrogate gets into decoded text: as a ``\\u`` escape (NUL likewise, as
``\\u0000``). Pairs, as JSON writes an emoji, are most of them, and they decode whole."""


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
"""A run of 19 digits (after the translation above) may be an integer beyond 64 bits, which
orjson would make a float: such a body goes to the standard parser. A float's long
mantissa matches too; it only costs that body the slower parser."""
_CHECKED_ESCAPE = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]")
"""Escapes the checks below must see decoded by the standard parser: NUL, surrogates."""


def _orjson_reads_alike(raw: bytes) -> bool:
    """Whether orjson reads ``raw`` as the standard parser does (three C-speed scans; a
    regular expression for the digit runs took longer than the standard parser)."""
    if _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO):
        return False
    return b"\\u" not in raw or not _CHECKED_ESCAPE.search(raw)


class _TooLarge:
    """Stands for an integer too large to read, until the walk names its field."""


_TOO_LARGE = _TooLarge()


def decode_json(raw: bytes) -> Any:
    """The JSON value in ``raw`` (UTF-8, or UTF-16/32 as JSON allows), checked as above.

    Raises ``ValueError`` (``UnicodeDecodeError``, ``json.JSONDecodeError``) or
    ``RecursionError`` when ``raw`` is not JSON at all, and ``ValidationError`` naming the
    field when it is JSON holding a value Vigil cannot keep. Surrogates written as raw bytes
    are not decoded (Python's ``json.loads`` would let them through)."""
    if _orjson_reads_alike(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN, UTF-16, a BOM, or not JSON: the standard parser reads it or says why
    text = raw.decode(json.detect_encoding(raw))  # strict: no encoded surrogates
    text = text.removeprefix("\ufeff")
    large: list[bool] = []

    def read_int(digits: str) -> int | _TooLarge:
        if len(digits) - digits.startswith("-") > MAX_NUMBER_DIGITS:
            large.append(True)
            return _TOO_LARGE
        number = int(digits)
        try:
            float(number)
        except OverflowError:
            large.append(True)
            return _TOO_LARGE
        return number

    value = json.loads(text, parse_int=read_int)
    if large or "\\u0000" in text or (_SURROGATE.search(text) and not _encodes(value)):
        check_value(value, "")
    return value


def _encodes(value: object) -> bool:
    """Whether all text in ``value`` has a UTF-8 encoding: one C-speed pass, so that a
    body with emoji (escaped as surrogate pairs) is not walked string by string."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(text: str, path: str) -> str:
    """``text`` when it can be stored and written out; else ``ValidationError`` naming
    ``path``. For text that does not come as JSON (a query parameter, a calendar)."""
    if "\x00" in text:
        raise fail(path, "contains a NUL character (\\u0000), which text cannot hold; remove it")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise fail(
                path,
                "contains a lone UTF-16 surrogate (such as \\ud800), which is not a "
                "character; send the text as valid UTF-8",
            ) from None
    return text


def check_value(value: object, path: str) -> None:
    """Walk a decoded value (iteratively: depth is the decoder's business) and refuse the
    first string, key or number that cannot be kept, in document order."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            check_text(current, where)
        elif current is _TOO_LARGE:
            raise fail(
                where,
                "is a number too large to hold (at most about 1.8e308); send a smaller one",
            )
        elif isinstance(current, dict):
            entries = []
            for key, inner in current.items():
                entry = child(where, key)
                check_text(key, entry)
                entries.append((inner, entry))
            stack.extend(reversed(entries))
        elif isinstance(current, list):
            stack.extend((inner, item(where, i)) for i, inner in reversed(list(enumerate(current))))
