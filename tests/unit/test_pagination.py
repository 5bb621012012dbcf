"""Cursors and page sizes, the pure part of pagination: what a caller can pass and what is
refused, naming the parameter."""

from __future__ import annotations

import pytest

from bot.core.errors import ValidationError
from bot.core.pagination import Page, decode_cursor, encode_cursor, page_of, parse_limit


def test_a_cursor_gives_back_the_key_it_was_made_from_and_is_url_safe() -> None:
    cursor = encode_cursor("overrides:ml-oncall", ["2026-12-03T09:00:00Z", "a/b+c?@team"])
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor("overrides:ml-oncall", cursor, (str, str)) == (
        "2026-12-03T09:00:00Z",
        "a/b+c?@team",
    )


@pytest.mark.parametrize(
    ("cursor", "why"),
    [
        (encode_cursor("all", [7]), "another list"),
        (encode_cursor("open", [7]), "handed out"),  # one part short
        (encode_cursor("open", ["P1", "7"]), "handed out"),
        ("", "handed out"),
        ("é", "handed out"),
        ("[[[[", "handed out"),
    ],
)
def test_a_cursor_of_another_list_or_shape_is_refused_naming_cursor(cursor: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        decode_cursor("open", cursor, (str, int))
    assert caught.value.field == "cursor"
    assert why in caught.value.detail


@pytest.mark.parametrize(("raw", "limit"), [(None, 50), ("1", 1), (" 200 ", 200), ("07", 7)])
def test_limit_defaults_to_50_and_takes_1_to_200(raw: str | None, limit: int) -> None:
    assert parse_limit(raw) == limit


@pytest.mark.parametrize("raw", ["0", "201", "-3", "2.5", "", "fifty", "١٢"])
def test_any_other_limit_is_refused_naming_limit(raw: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_limit(raw)
    assert caught.value.field == "limit"


def test_an_in_memory_page_resumes_after_the_cursors_key_whatever_was_added() -> None:
    def cut(rows: list[int], after: int | None) -> Page[int]:
        key_after = None if after is None else (after,)
        return page_of(rows, key=lambda r: (r,), after=key_after, limit=2, cursor=str)

    first = cut([10, 20, 30, 40, 50], None)
    assert (first.items, first.next_cursor, first.total, first.cut) == ((10, 20), "20", 5, True)
    second = cut([5, 10, 15, 20, 25, 30, 40, 50], 20)  # three added, before and after
    assert (second.items, second.next_cursor, second.total) == ((25, 30), "30", 8)
    last = cut([10, 20, 30, 40, 50], 30)
    assert (last.items, last.next_cursor) == ((40, 50), None)
    whole = cut([1], None)
    assert (whole.next_cursor, whole.cut) == (None, False)
