"""The timeline line for alerts that arrive together: what a person reads in the incident's
thread when Alertmanager sends a group of alerts in one post."""

from __future__ import annotations

from bot.incidents.intake.alert_lines import AlertFacts, cleared_line, firing_line, line_data


def alert(n: int, title: str = "5xx ratio above 5% on payments", **labels: str) -> AlertFacts:
    base = {"alertname": "HighErrorRate", "service": "payments", "instance": f"web-{n}:9100"}
    return AlertFacts(f"{n:016x}", title, {**base, **labels}, 0.07 + n / 1000)


def test_one_alert_reads_as_before() -> None:
    assert firing_line([alert(1)]) == "Firing: 5xx ratio above 5% on payments"
    assert firing_line([alert(1)], again=True) == "Firing again: 5xx ratio above 5% on payments"


def test_a_group_names_its_count_its_title_and_the_label_that_sets_them_apart() -> None:
    line = firing_line([alert(n) for n in range(1, 11)])
    assert line == (
        "Firing: 10 alerts: 5xx ratio above 5% on payments "
        "(instance: web-1:9100, web-2:9100, web-3:9100 and 7 more)"
    )


def test_alerts_that_differ_in_several_labels_say_which() -> None:
    line = firing_line([alert(1, zone="a"), alert(2, zone="b")])
    assert line == "Firing: 2 alerts: 5xx ratio above 5% on payments (differing in instance, zone)"


def test_several_titles_are_listed_most_common_first_then_counted() -> None:
    alerts = [
        alert(1, "Latency high"),
        alert(2, "Errors high"),
        alert(3, "Errors high"),
        alert(4, "Disk full"),
        alert(5, "Queue deep"),
    ]
    assert firing_line(alerts) == (
        "Firing: 5 alerts: Errors high (2 alerts); Latency high; Disk full and 1 more"
    )


def test_cleared_says_what_to_do_once_nothing_fires() -> None:
    assert cleared_line([alert(1)], incident_id=7, still_firing=2) == (
        "Alert cleared: 5xx ratio above 5% on payments"
    )
    assert cleared_line([alert(1), alert(2)], incident_id=7, still_firing=0) == (
        "Alerts cleared: 2 alerts: 5xx ratio above 5% on payments "
        "(instance: web-1:9100, web-2:9100). Every alert of #7 has cleared; "
        "when you are satisfied, /incident resolve 7"
    )


def test_the_data_names_every_fingerprint_and_details_the_first_twenty() -> None:
    alerts = [alert(n) for n in range(30)]
    data = line_data(alerts, labels=True)
    assert data["count"] == 30
    assert data["fingerprints"] == [a.fingerprint for a in alerts]
    assert len(data["alerts"]) == 20
    assert data["alerts"][0] == {
        "fingerprint": alerts[0].fingerprint,
        "labels": dict(alerts[0].labels),
        "value": alerts[0].value,
    }
    assert "labels" not in line_data(alerts, labels=False)["alerts"][0]
