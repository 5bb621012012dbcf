"""The ``maintenance:`` section of vigil.yaml: windows as written, and every refusal naming
its key in the words ``vigil check`` prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config.load import load_settings
from bot.core.errors import ConfigError
from bot.silences.window_config import parse_maintenance
from bot.silences.windows import active

WHERE = "vigil.yaml"


def window(**changes: Any) -> dict[str, Any]:
    """A valid weekly window (13 Dec 2026 is a Sunday), with ``changes`` (None removes)."""
    base: dict[str, Any] = {
        "name": "db-migration",
        "timezone": "Europe/Berlin",
        "start": "2026-12-13T02:00",
        "duration": "2h",
        "rrule": "FREQ=WEEKLY;BYDAY=SU",
        "services": ["payments"],
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def refusal(*windows: dict[str, Any] | object) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_maintenance(list(windows), WHERE)
    return caught.value


def test_no_section_is_no_windows() -> None:
    assert parse_maintenance(None, WHERE) == ()


def test_a_full_window_is_read() -> None:
    (found,) = parse_maintenance(
        [
            window(
                models=["fraud"],
                matchers=['alertname=~"Latency.*"'],
                comment="weekly vacuum",
            )
        ],
        WHERE,
    )
    assert found.name == "db-migration"
    assert found.tz == ZoneInfo("Europe/Berlin")
    assert found.start == datetime(2026, 12, 13, 2)
    assert found.duration == timedelta(hours=2)
    assert found.rrule == "FREQ=WEEKLY;BYDAY=SU"
    assert (found.services, found.models) == (("payments",), ("fraud",))
    assert found.matchers == ('alertname=~"Latency.*"',)
    assert found.comment == "weekly vacuum"
    occ = active(found, datetime(2026, 12, 20, 2, tzinfo=UTC))  # 03:00 CET, a week on
    assert occ is not None
    assert occ.start == datetime(2026, 12, 20, 1, tzinfo=UTC)


def test_end_instead_of_duration_timezone_defaults_to_utc_and_all_covers_everything() -> None:
    (found,) = parse_maintenance(
        [
            {
                "name": "freeze",
                "start": "2026-12-24T18:00",
                "end": "2026-12-27T09:00",
                "all": True,
            }
        ],
        WHERE,
    )
    assert found.tz == ZoneInfo("UTC")
    assert found.duration == timedelta(days=2, hours=15)
    assert found.rrule is None
    assert found.covers({"service": "anything"})


def test_a_one_off_window_already_over_is_accepted() -> None:
    (found,) = parse_maintenance([window(rrule=None, start="2020-01-05T02:00")], WHERE)
    assert found.rrule is None


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        (
            {"services": None},
            "maintenance[0]",
            "would silence everything; name services, models or matchers, "
            "or say all: true if you mean it",
        ),
        (
            {"all": True},
            "maintenance[0].all",
            "all: true covers every alert; drop it or the services, models and matchers",
        ),
        ({"all": "yes"}, "maintenance[0].all", "must be true or false, got 'yes'"),
        ({"name": None}, "maintenance[0].name", "is required"),
        ({"name": " "}, "maintenance[0].name", "must be a non-empty name"),
        ({"start": None}, "maintenance[0].start", "is required"),
        (
            {"start": "2026-12-13"},
            "maintenance[0].start",
            "must be a local date and time like 2026-03-02T09:00, not '2026-12-13'",
        ),
        (
            {"start": "2026-12-13T02:00+01:00"},
            "maintenance[0].start",
            "must be a local time without an offset: timezone says where it is",
        ),
        (
            {"start": "2026-12-14T02:00"},
            "maintenance[0].start",
            "Mon 14 Dec 2026 02:00 is not an occurrence of the rule; "
            "its first would be Sun 20 Dec 2026 02:00",
        ),
        (
            {"timezone": "Mars/Base"},
            "maintenance[0].timezone",
            "unknown time zone 'Mars/Base' (IANA names, e.g. America/New_York)",
        ),
        ({"duration": None}, "maintenance[0].duration", "needs a duration (2h) or an end"),
        ({"duration": "0s"}, "maintenance[0].duration", "must be longer than zero"),
        (
            {"duration": "8d", "rrule": None},
            "maintenance[0].duration",
            "a maintenance window lasts at most 7d, not 8d",
        ),
        (
            {"duration": 2},
            "maintenance[0].duration",
            "2 is not a duration; write it with a unit: 30s, 5m, 1h, 1h30m",
        ),
        ({"end": "2026-12-13T04:00"}, "maintenance[0].end", "give duration or end, not both"),
        (
            {"duration": None, "end": "2026-12-13T01:00"},
            "maintenance[0].end",
            "must be after start",
        ),
        (
            {"duration": None, "end": "2026-12-21T02:00", "rrule": None},
            "maintenance[0].end",
            "a maintenance window lasts at most 7d; this one 8d",
        ),
        (
            {"rrule": "FREQ=WEEKLY;BYDAY=XX"},
            "maintenance[0].rrule",
            "is not an RFC 5545 RRULE: invalid 'BYDAY': XX",
        ),
        (
            {"rrule": "DTSTART:20261213T020000\nRRULE:FREQ=WEEKLY"},
            "maintenance[0].rrule",
            "must not hold DTSTART: the window's start is when it first begins",
        ),
        (
            {"rrule": "FREQ=MINUTELY;INTERVAL=30"},
            "maintenance[0].rrule",
            "recurs too often: a maintenance window recurs at most HOURLY",
        ),
        (
            {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "start": "2026-12-13T02:00"},
            "maintenance[0].rrule",
            "never occurs from start on",
        ),
        ({"rrule": ""}, "maintenance[0].rrule", "must be an RFC 5545 rule such as"),
        (
            {"rrule": "FREQ=DAILY", "duration": "25h"},
            "maintenance[0].duration",
            "occurrences overlap: the one at Sun 13 Dec 2026 02:00 lasts 1d1h, "
            "past the next at Mon 14 Dec 2026 02:00",
        ),
        ({"services": "payments"}, "maintenance[0].services", "must be a list of service names"),
        (
            {"models": ["fraud", ""]},
            "maintenance[0].models[1]",
            "must be one of the model names, as text",
        ),
        ({"matchers": [3]}, "maintenance[0].matchers[0]", "must be one of the matchers, as text"),
        ({"comment": 5}, "maintenance[0].comment", "must be text"),
        (
            {"service": ["payments"]},
            "maintenance[0].service",
            "unknown key (allowed: all, comment, duration, end, matchers, models, name, "
            "rrule, services, start, timezone)",
        ),
    ],
)
def test_a_window_vigil_cannot_use_is_refused_naming_its_key(
    changes: dict[str, Any], key: str, message: str
) -> None:
    error = refusal(window(**changes))
    assert error.key == key
    assert str(error).startswith(f"{WHERE}: {key}: {message}"), str(error)


def test_a_name_used_twice_is_refused_at_the_second() -> None:
    error = refusal(window(), window(services=["search"]))
    assert str(error) == (
        "vigil.yaml: maintenance[1].name: 'db-migration' is already the name of another window"
    )


@pytest.mark.parametrize(
    ("raw", "key", "message"),
    [
        ({"name": "x"}, "maintenance", "must be a list of maintenance windows"),
        (["x"], "maintenance[0]", "must be a mapping like {name: db, start: ..., duration: 2h}"),
    ],
)
def test_the_section_must_be_a_list_of_mappings(raw: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_maintenance(raw, WHERE)
    assert str(caught.value) == f"{WHERE}: {key}: {message}"


MAINTENANCE = """\
maintenance:
  - name: db-migration
    timezone: Europe/Berlin
    start: "2026-12-13T02:00"
    duration: 2h
    rrule: FREQ=WEEKLY;BYDAY=SU
    services: [payments]
"""


def test_vigil_yaml_maintenance_reaches_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(MAINTENANCE)
    settings = load_settings(path, {})
    assert [w.name for w in settings.maintenance] == ["db-migration"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("log_level: info\n")
    assert load_settings(empty, {}).maintenance == ()


def test_a_bad_window_in_vigil_yaml_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "vigil.yaml"
    path.write_text(MAINTENANCE.replace("BYDAY=SU", "BYDAY=SUN"))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    assert str(caught.value).startswith(f"{path}: maintenance[0].rrule: is not an RFC 5545 RRULE: ")
