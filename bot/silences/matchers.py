"""Label matchers with Alertmanager's semantics exactly, and Vigil's guard against a silence
that would hush everything. Pure.

A matcher is ``name op value`` with op one of ``=``, ``!=``, ``=~``, ``!~``. As in
Alertmanager: a label the alert lacks matches as the empty string; a regex matches the
whole value (``^(?:re)$``), so ``service=~"pay"`` does not match ``payments``; regexes are
RE2, read through :mod:`bot.silences.re2` so that Python means the same thing. The text
forms are amtool's (``service="payments"``, ``service=payments``, ``alertname=~"Lat.*"``,
``{a="b",c!~"d"}``) and the JSON form is the Alertmanager API v2 matcher
(``{"name","value","isRegex","isEqual"}``), so silences move between Vigil and
Alertmanager unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from bot.silences.re2 import translate

__all__ = [
    "Matcher",
    "MatcherError",
    "is_label_name",
    "matches_all",
    "matches_filter",
    "parse_matcher",
    "parse_matchers",
    "refusal",
]

T = TypeVar("T")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
# amtool's form: a name, an operator, the rest (trimmed) is the value, quoted or not.
_FORM = re.compile(r"\s*([^=!~\s\"{},]*)\s*(=~|!~|!=|=)\s*(.*?)\s*", re.DOTALL)
_OPS = {"=": (False, True), "!=": (False, False), "=~": (True, True), "!~": (True, False)}
_OP_TEXT = {flags: op for op, flags in _OPS.items()}
_EXAMPLE = 'e.g. service="payments" or alertname=~"Latency.*" (then env!="staging" may narrow it)'


class MatcherError(ValueError):
    """A matcher Vigil will not take; its text says which one and why, for the user.
    ``reason`` is the why alone, for a caller that names the matcher its own way."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


def is_label_name(text: str) -> bool:
    """Whether ``text`` is a Prometheus label name: letters, digits and _, no digit first."""
    return _LABEL_NAME.fullmatch(text) is not None


@lru_cache(maxsize=1024)
def _compiled(value: str) -> re.Pattern[str]:
    """The regex ``value`` (RE2) compiled once for all matchers that use it, or
    ValueError with the reason."""
    try:
        return re.compile(f"(?:{translate(value)})")
    except re.error as exc:
        raise ValueError(f"does not compile: {exc.msg}") from None


@dataclass(frozen=True)
class Matcher:
    """One label matcher; refused at construction (MatcherError) if Alertmanager would
    refuse it, so a Matcher always matches the way Alertmanager does."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def __post_init__(self) -> None:
        if not _LABEL_NAME.fullmatch(self.name):
            why = f"{self.name!r} is not a label name (letters, digits and _, no digit first)"
            raise MatcherError(f"{self}: {why}", reason=why)
        try:
            self.value.encode()
        except UnicodeEncodeError:
            why = "the value is not valid UTF-8 text"
            raise MatcherError(f"{self.name}: {why}", reason=why) from None
        if self.is_regex:
            try:
                _compiled(self.value)
            except ValueError as exc:
                raise MatcherError(f"{self}: the regex {exc}", reason=f"the regex {exc}") from None

    @property
    def op(self) -> str:
        """``=``, ``!=``, ``=~`` or ``!~``."""
        return _OP_TEXT[(self.is_regex, self.is_equal)]

    def matches_value(self, value: str) -> bool:
        """Whether a label value (``""`` for a missing label) satisfies this matcher."""
        if self.is_regex:
            hit = _compiled(self.value).fullmatch(value) is not None
        else:
            hit = value == self.value
        return hit == self.is_equal

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether an alert with ``labels`` satisfies this matcher (missing label = "")."""
        return self.matches_value(labels.get(self.name, ""))

    def __str__(self) -> str:
        """Alertmanager's text form, ``service="payments"``: the value quoted, with ``\\``,
        newline and ``"`` escaped as Alertmanager writes them (parse_matcher reads it back)."""
        escaped = self.value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def to_json(self) -> dict[str, object]:
        """The Alertmanager API v2 matcher object."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, object], *, where: str) -> Matcher:
        """An API v2 matcher object (``isEqual`` defaults to true, as in Alertmanager), or
        MatcherError naming the field path (``where`` is the object's, e.g.
        ``matchers[2]``)."""
        if not isinstance(d, Mapping):
            raise MatcherError(f'{where}: must be an object like {{"name": "service", …}}')
        unknown = sorted(set(d) - {"name", "value", "isRegex", "isEqual"})
        if unknown:
            raise MatcherError(
                f"{where}.{unknown[0]}: unknown field (allowed: name, value, isRegex, isEqual)"
            )
        name = _field(d, "name", str, where)
        value = _field(d, "value", str, where)
        is_regex = _field(d, "isRegex", bool, where)
        is_equal = _field(d, "isEqual", bool, where, default=True)
        try:
            return cls(name, value, is_regex, is_equal)
        except MatcherError as exc:
            raise MatcherError(f"{where}: {exc}") from None


def _field(
    d: Mapping[str, object], name: str, kind: type[T], where: str, default: T | None = None
) -> T:
    """``d[name]`` if it is a ``kind``; MatcherError naming ``where.name`` otherwise."""
    got = d.get(name, default)
    if got is None:
        raise MatcherError(f"{where}.{name}: is required")
    if not isinstance(got, kind):
        raise MatcherError(f"{where}.{name}: must be {'text' if kind is str else 'true or false'}")
    return got


def parse_matcher(text: str) -> Matcher:
    """One matcher as amtool and Alertmanager's config read it: ``name="value"``,
    ``name=value``, ``name!=value``, ``name=~"re.*"``, ``name!~"re"``. In a quoted value
    ``\\"`` is a quote, ``\\\\`` a backslash and ``\\n`` a newline; any other backslash
    stays (so ``"v1\\.2"`` is the regex ``v1\\.2``), as in Alertmanager."""
    form = _FORM.fullmatch(text)
    if form is None or not form.group(1):
        raise MatcherError(
            f'{text.strip()!r} is not a matcher: write name="value" with =, !=, =~ or !~ '
            f"({_EXAMPLE})"
        )
    name, op, raw = form.groups()
    value = _unquote(raw, text)
    is_regex, is_equal = _OPS[op]
    try:
        return Matcher(name, value, is_regex, is_equal)
    except MatcherError as exc:
        raise MatcherError(f"{text.strip()!r}: {exc.reason}") from None


def _unquote(raw: str, text: str) -> str:
    """The value of amtool's matcher text, unescaped the way Alertmanager does."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i < len(body) - 1:
            nxt = body[i + 1]
            out.append({"n": "\n", '"': '"', "\\": "\\"}.get(nxt, "\\" + nxt))
            i += 2
            continue
        if char == '"':
            if not quoted or i < len(body) - 1:
                raise MatcherError(
                    f'{text.strip()!r}: the value has a " inside; write it as \\" '
                    '(e.g. summary="say \\"hi\\"")'
                )
            quoted = False  # the closing quote
        else:
            out.append(char)
        i += 1
    if quoted:
        raise MatcherError(f"{text.strip()!r}: the value's closing \" is missing")
    return "".join(out)


def parse_matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    """Matchers from amtool-style arguments; one argument may also be the braces form
    ``{a="b",c=~"d"}`` (commas inside quotes are part of the value)."""
    found: list[Matcher] = []
    for text in texts:
        stripped = text.strip()
        if stripped.startswith("{"):
            found.extend(parse_matcher(t) for t in _split_braces(stripped) if t.strip())
        else:
            found.append(parse_matcher(text))
    return tuple(found)


def _split_braces(text: str) -> list[str]:
    """``{a="b",c="d,e"}`` → ``['a="b"', 'c="d,e"']``, the way Alertmanager splits it."""
    body = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    token: list[str] = []
    inside = escaped = False
    for char in body:
        if char == "," and not inside:
            tokens.append("".join(token))
            token = []
            continue
        if char == '"':
            inside = inside if escaped else not inside
            escaped = False
        elif char == "\\":
            escaped = not escaped
        else:
            escaped = False
        token.append(char)
    tokens.append("".join(token))
    return tokens


def matches_all(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether an alert with ``labels`` satisfies every matcher (Alertmanager's AND)."""
    return all(m.matches(labels) for m in matchers)


def matches_filter(filters: Sequence[Matcher], values: Mapping[str, str]) -> bool:
    """Alertmanager's API ``filter=`` (``matchFilterLabels``): like :func:`matches_all`,
    except that a filter with an empty value asks whether the label is there at all:
    ``team!=""`` keeps every object that has a ``team`` (even an empty one) and ``team=""``
    every object without one. ``values`` are an alert's labels, or a silence's matchers as
    ``name: pattern`` (so ``alertname=~"Lat.*"`` finds the silence ``alertname=~"Latency.*"``).
    """
    for f in filters:
        present = f.name in values
        if f.value == "" and present != f.is_equal:
            continue
        if not f.matches_value(values.get(f.name, "")):
            return False
    return True


def _only_empty(m: Matcher) -> bool:
    """The matchers that can match nothing but the empty value (a missing label)."""
    if m.is_equal:
        return m.value == "" if not m.is_regex else m.value in ("", "^$")
    return m.is_regex and m.value in (".+", "(.+)", ".+?")


def refusal(matchers: Sequence[Matcher]) -> str | None:
    """Why Vigil refuses a silence with these matchers, or None to accept it.

    Alertmanager silences every alert whose labels satisfy all matchers, and a label an
    alert lacks reads as "". So a set in which *every* matcher also matches "" silences
    every alert that lacks those labels — in practice every alert (Alertmanager issues
    #3905, #3279). Alertmanager refuses only ``=""`` and regexes matching "", not ``!=`` or
    ``!~``, so ``service!="payments"`` alone hushes everything else; Vigil asks each matcher
    whether it matches "" and refuses:

    * no matchers at all: ``[]``;
    * every matcher matches "", and one of them can match nothing but "": ``team=""`` or
      ``team=""`` with ``env!="prod"`` — it only catches alerts without a ``team``, which
      is rarely what was meant (say what they *do* have);
    * every matcher matches "": ``service!="payments"``, ``env!~"prod|staging"``,
      ``service=~".*"`` — each also matches every alert without the label.

    Accepted: any set with one matcher that needs a real value, e.g. ``service="payments"``
    with ``env!="prod"``, and ``team=""`` with ``env!=""`` ("alerts with an env but no
    team": the ``env!=""`` needs a value, so this is a real, bounded set).
    """
    if not matchers:
        return (
            "A silence needs at least one matcher: with none it would hush every alert. "
            f"Say what to hush, {_EXAMPLE}."
        )
    if not all(m.matches_value("") for m in matchers):
        return None
    shown = ", ".join(str(m) for m in matchers)
    only = next((m for m in matchers if _only_empty(m)), None)
    if only is not None:
        return (
            f"{only} only matches alerts that have no {only.name} label, and nothing else in "
            f"{shown} asks for a real value, so this would hush every alert without a "
            f"{only.name}. Add a matcher for what the alerts do have, "
            f'e.g. service="payments".'
        )
    names = ", ".join(dict.fromkeys(m.name for m in matchers))
    return (
        f"{shown} would hush every alert that lacks {names}, not only the ones you mean: "
        'a missing label reads as "", and every matcher here matches "". With != or !~ '
        "alone that is nearly every alert. Add at least one matcher that needs a real "
        f"value, {_EXAMPLE}."
    )
