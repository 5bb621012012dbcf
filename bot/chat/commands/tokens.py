"""The words of a typed command: tokens, quotes, and dash-led options.

Chat clients change what people type: Slack's send curly quotes, macOS turns ``--`` into an
em dash. Reading a token here undoes that, once, for every parser (``/incident``), so an
option means the same however it arrived; and every refusal echoes the user's words the same
way (``quote``). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DQUOTES = '"\u201c\u201d'  # " and the curly pair Slack's clients type
SQUOTES = "'\u2018\u2019"
# A double-quoted run of words is one token (so "--sev" inside it is title, not an option).
_TOKEN = re.compile(rf"(?P<q>[{DQUOTES}][^{DQUOTES}]*[{DQUOTES}])(?=\s|$)|\S+")
DASHES = ("\u2014", "\u2013")  # em and en dash: what "--" becomes after autocorrect
_NEW_OPTION_NAMES = ("sev", "severity", "service", "model")
KNOWN_OPTION_NAMES = frozenset((*_NEW_OPTION_NAMES, "all", "pin", "cursor"))
"""Option names (without dashes) that an autocorrected dash still marks as an option."""


@dataclass(frozen=True)
class Tok:
    text: str
    start: int  # offset in the original text, so free text can be cut out verbatim
    quoted: bool


def tokens(text: str) -> list[Tok]:
    return [Tok(m.group(), m.start(), m.group("q") is not None) for m in _TOKEN.finditer(text)]


def quote(value: str) -> str:
    """Echo user input in a message: on one line, quoted, cut short if long."""
    flat = " ".join(value.split())
    return f"'{flat[:39]}…'" if len(flat) > 40 else f"'{flat}'"


def option_of(tok: Tok, known: frozenset[str] = KNOWN_OPTION_NAMES) -> str | None:
    """The option a token spells (``--sev=P1`` stays whole), or None if it is a plain word;
    a dash-led token counts only when it names one of the ``known`` options."""
    if tok.quoted:
        return None
    if tok.text.startswith("--"):
        return tok.text
    if tok.text.startswith(DASHES):
        name = tok.text[1:].partition("=")[0].lower()
        return "--" + tok.text[1:] if name in known else None
    return None


def unquote(text: str) -> str:
    """An option value without the quotes around it, if it has a matching pair."""
    for quotes in (DQUOTES, SQUOTES):
        if len(text) >= 2 and text[0] in quotes and text[-1] in quotes:
            return text[1:-1].strip()
    return text
