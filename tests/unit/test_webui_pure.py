"""The web view's pure parts: the session cookie and CSRF token, the safe redirect, the
list filters written back as links, the post-mortem's Markdown subset, and the badge
colours' contrast on white."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.webui import filters, session, text

KEY = b"k3y"
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_a_session_holds_an_expiry_and_a_mac_never_the_key() -> None:
    value = session.new_session(KEY, 1_000.0)
    assert "k3y" not in value
    assert session.valid_session(KEY, value, 1_000.0 + 12 * 3600 - 1)
    assert not session.valid_session(KEY, value, 1_000.0 + 12 * 3600)
    assert not session.valid_session(b"other", value, 1_000.0)
    expiry, _, mac = value.partition(".")
    assert not session.valid_session(KEY, f"{int(expiry) + 1}.{mac}", 1_000.0)
    for junk in ("", ".", "x.y", "1" * 40 + ".ab"):
        assert not session.valid_session(KEY, junk, 0.0)


def test_csrf_is_bound_to_the_session() -> None:
    one, two = session.new_session(KEY, 0.0), session.new_session(KEY, 5.0)
    token = session.csrf_token(KEY, one)
    assert session.csrf_ok(KEY, one, token)
    assert not session.csrf_ok(KEY, two, token)
    assert not session.csrf_ok(KEY, one, None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/incidents/4?kind=note", "/incidents/4?kind=note"),
        (None, "/incidents"),
        ("https://evil.example", "/incidents"),
        ("//evil.example", "/incidents"),
        ("/\\evil.example", "/incidents"),
        ("/ok\r\nSet-Cookie: x", "/incidents"),
        ("incidents", "/incidents"),
    ],
)
def test_only_local_paths_are_redirect_targets(target: str | None, expected: str) -> None:
    assert session.local_path(target) == expected


def _parse(query: str) -> tuple[filters.Filters, filters.Window, dict[str, str]]:
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    return filters.parse(filters.Query((k, v) for k, v in pairs), NOW)


def test_filters_written_back_read_the_same() -> None:
    f, window, errors = _parse("severity=P2&severity=P1&state=all&q=slow&since=24h&sort=-age")
    assert errors == {}
    assert f.severities == ("P1", "P2")
    assert window.since == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    link = f.query(page=2)
    assert link == "?severity=P1&severity=P2&state=all&q=slow&since=24h&sort=-age&page=2"
    again, _, _ = _parse(link[1:])
    assert again == filters.Filters(**{**f.__dict__, "page": 2})
    assert filters.Filters().query() == ""


def test_a_column_heading_flips_its_own_sort() -> None:
    f, _, _ = _parse("sort=age&page=3")
    assert f.sort_link("age") == "?sort=-age"
    assert f.sort_link("id") == "?sort=id"
    assert filters.Filters().order == "severity"
    assert filters.Filters(state="all").order == "-id"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("severity=P0", "severity"),
        ("state=x", "state"),
        ("since=soon", "since"),
        ("until=1900-01-01", "until"),
        ("sort=name", "sort"),
        ("page=-1", "page"),
        ("model=a%0Ab".replace("%0A", "\n"), "model"),
    ],
)
def test_each_bad_value_names_its_field(query: str, field: str) -> None:
    _, _, errors = _parse(query)
    assert list(errors) == [field]


def test_markdown_is_a_safe_subset() -> None:
    html = str(
        text.markdown(
            "# Title <b>\n\n- **bold** and `code`\n  - nested\n\n"
            "<script>x</script> [a](javascript:x)\n\n| a | b |\n"
        )
    )
    assert "<h2>Title &lt;b&gt;</h2>" in html
    assert "<li><strong>bold</strong> and <code>code</code></li>" in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>" not in html
    assert "<a " not in html
    assert "<pre>| a | b |</pre>" in html


def test_words() -> None:
    assert text.age(datetime(2026, 11, 23, 22, 48, tzinfo=UTC), NOW) == "3 h 12 min"
    assert text.subject(None, "churn", "v7") == "churn@v7"
    assert text.subject("payments", "churn", "v7") == "payments"
    assert text.slack_link("C0&1") == "https://slack.com/app_redirect?channel=C0%261"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_text_colour_reads_on_white_at_4_5_to_1() -> None:
    css = (Path(text.__file__).parent / "static" / "vigil.css").read_text()
    colours = re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", css)
    colours += re.findall(r"--(?:ink|muted|link|focus):\s*(#[0-9a-fA-F]{6})", css)
    assert len(colours) >= 8
    for colour in colours:
        ratio = 1.05 / (_luminance(colour) + 0.05)
        assert ratio >= 4.5, (colour, ratio)
    for sev in ("P1", "P2", "P3", "P4"):
        assert f".sev-{sev} {{ color: #" in css
