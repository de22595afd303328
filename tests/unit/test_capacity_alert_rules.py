"""services.capacity.alerts: valid alerts, their targets, and what each organisation sees."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.capacity.alerts import (
    Acknowledgement,
    Alert,
    AlertEvent,
    AlertRequest,
    Area,
    EventKind,
    Organisation,
    Severity,
    note_violations,
    request_violations,
    resolve_targets,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
BODO, BAERUM, HOSPITAL, VESTRE_VIKEN = "910000012", "910000047", "910000071", "910000101"
ORGANISATIONS = [
    Organisation(o["orgnr"], o["name"], o["parent_orgnr"], o["kind"], o["municipality_number"], o["region"])
    for o in json.loads((Path(__file__).parents[2] / "seeds" / "organisations.json").read_text())
]
REQUEST = AlertRequest(Severity.CRITICAL, "Brann", (BODO,), Area(), NOW + timedelta(hours=1), "r-1")


def ack(orgnr: str, position: int) -> Acknowledgement:
    return Acknowledgement(orgnr, NOW, "client", "", "", "", position)


ALERT = Alert(
    "a-1",
    Severity.WARNING,
    "Brann",
    Area(),
    (BODO, BAERUM, VESTRE_VIKEN),
    HOSPITAL,
    "demo-hospital",
    NOW,
    NOW + timedelta(hours=1),
    10,
    (ack(BAERUM, 11), ack(BODO, 14)),
)


def test_a_complete_request_is_valid():
    assert request_violations(REQUEST, NOW) == {}
    assert (
        request_violations(replace(REQUEST, message="Linje 1\nLinje 2", expires_at=NOW + timedelta(days=7)), NOW) == {}
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"severity": None}, "severity"),
        ({"message": ""}, "message"),
        ({"message": " \n"}, "message"),
        ({"message": "x" * 1001}, "message"),
        ({"message": "nul\x00"}, "message"),
        ({"expires_at": None}, "expire_time"),
        ({"expires_at": NOW}, "expire_time"),
        ({"expires_at": NOW + timedelta(days=7, seconds=1)}, "expire_time"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "has space"}, "request_id"),
        ({"target_orgnrs": (BODO, "910000013")}, "target_orgnrs[1]"),
        ({"target_orgnrs": ()}, "target_orgnrs"),
        ({"target_orgnrs": (), "area": Area(municipality_number="180")}, "area.municipality_number"),
    ],
)
def test_a_request_breaking_a_rule_has_a_violation_on_its_field(changes, field):
    assert field in request_violations(replace(REQUEST, **changes), NOW)


def test_targets_are_known_legal_entities_and_an_area_reaches_those_in_it_but_the_sender():
    request = replace(REQUEST, target_orgnrs=(BAERUM,), area=Area(region="Nordland"))
    assert resolve_targets(request, ORGANISATIONS, HOSPITAL) == ((BODO, BAERUM), {})
    both = replace(REQUEST, target_orgnrs=(), area=Area(region="Akershus", municipality_number="3201"))
    assert resolve_targets(both, ORGANISATIONS, HOSPITAL) == ((BAERUM, VESTRE_VIKEN), {})
    explicit = replace(REQUEST, target_orgnrs=(HOSPITAL, "910000020", "910000136", BODO))
    targets, problems = resolve_targets(explicit, ORGANISATIONS, HOSPITAL)
    assert targets == (BODO,)
    assert problems.keys() == {"target_orgnrs[0]", "target_orgnrs[1]", "target_orgnrs[2]"}
    lonely = replace(REQUEST, target_orgnrs=(), area=Area(municipality_number="1804"))
    assert resolve_targets(lonely, [o for o in ORGANISATIONS if o.orgnr != BODO], HOSPITAL)[1].keys() == {"area"}


def test_the_digest_tells_a_retry_from_another_alert():
    assert REQUEST.digest() == replace(REQUEST, target_orgnrs=(BODO,)).digest()
    for changes in (
        {"message": "Flom"},
        {"severity": Severity.INFO},
        {"area": Area(region="Nordland")},
        {"expires_at": NOW + timedelta(hours=2)},
        {"target_orgnrs": (BAERUM,)},
    ):
        assert replace(REQUEST, **changes).digest() != REQUEST.digest()
    assert (
        replace(REQUEST, target_orgnrs=(BODO, BAERUM)).digest()
        == replace(REQUEST, target_orgnrs=(BAERUM, BODO)).digest()
    )


def test_the_sender_sees_every_acknowledgement_and_who_is_pending():
    view = ALERT.seen_by(HOSPITAL)
    assert [a.orgnr for a in view.acknowledgements] == [BAERUM, BODO]
    assert view.pending_orgnrs == (VESTRE_VIKEN,)


def test_a_target_sees_only_its_own_acknowledgement():
    assert [a.orgnr for a in ALERT.seen_by(BODO).acknowledgements] == [BODO]
    assert ALERT.seen_by(BODO).pending_orgnrs == ()
    assert ALERT.seen_by(VESTRE_VIKEN).acknowledgements == ()
    assert ALERT.seen_by(VESTRE_VIKEN).pending_orgnrs == (VESTRE_VIKEN,)


def test_an_alert_as_of_a_position_has_the_acknowledgements_given_by_then():
    assert [a.orgnr for a in ALERT.as_of(10).acknowledgements] == []
    assert [a.orgnr for a in ALERT.as_of(13).acknowledgements] == [BAERUM]
    assert ALERT.as_of(13).pending_orgnrs == (BODO, VESTRE_VIKEN)
    assert ALERT.as_of(14) == ALERT


def test_events_go_to_whom_they_concern():
    raised = AlertEvent(10, EventKind.RAISED, ALERT.as_of(10))
    acknowledged = AlertEvent(11, EventKind.ACKNOWLEDGED, ALERT.as_of(11), BAERUM)
    assert [o for o in (HOSPITAL, BODO, BAERUM, VESTRE_VIKEN, "910000136", "") if raised.shown_to(o)] == [
        HOSPITAL,
        BODO,
        BAERUM,
        VESTRE_VIKEN,
    ]
    assert [o for o in (HOSPITAL, BODO, BAERUM, VESTRE_VIKEN, "") if acknowledged.shown_to(o)] == [HOSPITAL, BAERUM]


def test_expiry_and_notes():
    assert not ALERT.expired(NOW) and ALERT.expired(NOW + timedelta(hours=1))
    assert note_violations("Ekstra personell kalt inn") == {}
    assert note_violations("x" * 501).keys() == {"note"}
    assert note_violations("\x1b[31m").keys() == {"note"}
