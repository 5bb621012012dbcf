"""What the pages write that is more than a value: ages, Slack links, the post-mortem's
Markdown. Pure.

The draft is Markdown Vigil wrote from what people typed (titles, notes, labels), so it is
rendered through a tiny subset (headings, lists, paragraphs, ``**bold**``, `` `code` ``,
tables as preformatted text) built on escaped text: no raw HTML and no links ever reach
the page, whatever a note says.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import quote

from markupsafe import Markup, escape

from bot.core.durations import words_rounded

_INLINE = re.compile(r"\*\*(.+?)\*\*|`([^`]+)`")
_HEADING = re.compile(r"(#{1,4})\s+(.*)")
_ITEM = re.compile(r"(\s*)[-*]\s+(.*)")


def age(created_at: datetime, now: datetime) -> str:
    """``3 h 12 min``, ``2 d 4 h``, ``under a minute``."""
    return words_rounded(max(now - created_at, timedelta(0)))


def subject(service: str | None, model: str | None, version: str | None) -> str:
    """``payments``, ``churn@v7`` or ``churn`` (the model's version when an alert said)."""
    if service:
        return service
    if model:
        return f"{model}@{version}" if version else model
    return "—"


def slack_link(channel: str | None) -> str | None:
    """Where a Slack card's channel opens (Slack finds the workspace), or None."""
    if not channel:
        return None
    return f"https://slack.com/app_redirect?channel={quote(channel, safe='')}"


def _inline(text: str) -> Markup:
    out: list[str] = []
    last = 0
    for m in _INLINE.finditer(text):
        out.append(escape(text[last : m.start()]))
        if m.group(1) is not None:
            out.append(Markup("<strong>%s</strong>") % m.group(1))
        else:
            out.append(Markup("<code>%s</code>") % m.group(2))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def markdown(text: str) -> Markup:
    """The subset of Markdown a post-mortem draft uses, as safe HTML."""
    html: list[Markup] = []
    para: list[str] = []
    items: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if para:
            html.append(Markup("<p>%s</p>") % _inline(" ".join(para)))
            para.clear()
        if items:
            lis = Markup("").join(Markup("<li>%s</li>") % _inline(i) for i in items)
            html.append(Markup("<ul>%s</ul>") % lis)
            items.clear()
        if table:
            html.append(Markup("<pre>%s</pre>") % "\n".join(table))
            table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        heading = _HEADING.fullmatch(stripped)
        item = _ITEM.fullmatch(line)
        if not stripped:
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + 1, 5)  # the page's own <h1> stays the only one
            html.append(Markup("<h%d>%s</h%d>") % (level, _inline(heading.group(2)), level))
        elif stripped.startswith("|"):
            if not table:
                flush()
            table.append(line)
        elif item:
            if para or table:
                flush()
            items.append(("\u2003" if item.group(1) else "") + item.group(2))
        else:
            if items or table:
                flush()
            para.append(stripped)
    flush()
    return Markup("\n").join(html)
