"""Auditors' signals from crafted events: each kind, thresholds at their edges, days in Oslo time,
actor identity, and another organisation's events never counting."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from services.audit.events import StoredEvent
from services.audit.signals import (
    MAX_SIGNAL_EVENTS,
    REPEATED_DENIALS_THRESHOLD,
    UNUSUAL_VOLUME_THRESHOLD,
    SignalKind,
    signals,
)
from services.platform.vocabulary import AccessBasis, Decision, PurposeOfUse
from tests.fixtures import people
from tests.fixtures.samples import SIGRID_READS_VITALS

BODO, BAERUM = "910000012", "910000047"
PATIENTS = (people.ESKIL, people.RAGNHILD)
# 2026-01-05 10:00 Oslo (UTC+1).
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

# Sigrid reads Eskil's vital signs at T0; the rows below vary it.
BASE = replace(SIGRID_READS_VITALS, idempotency_key="", occurred_at=T0, decision_id="", trace_id="", method="")


class Log:
    """Crafted stored events with increasing sequences."""

    def __init__(self) -> None:
        self.events: list[StoredEvent] = []

    def add(self, count: int = 1, minutes: float = 0, **fields) -> list[StoredEvent]:
        added = []
        for _ in range(count):
            sequence = len(self.events) + len(added) + 1
            values = {"occurred_at": T0 + timedelta(minutes=minutes)} | fields
            record = replace(BASE, idempotency_key=f"k{sequence}", **values)
            added.append(StoredEvent(f"id-{sequence}", sequence, record))
        self.events += added
        return added


def kinds(found) -> list[SignalKind]:
    return [s.kind for s in found]


def test_ordinary_events_raise_no_signal():
    log = Log()
    log.add(UNUSUAL_VOLUME_THRESHOLD - 1)
    assert signals(log.events, BODO) == []


def test_emergency_override_by_basis_or_break_the_glass_one_signal_per_actor_and_day():
    log = Log()
    first = log.add(access_basis=AccessBasis.EMERGENCY, purpose_of_use=PurposeOfUse.ETREAT)
    second = log.add(minutes=5, purpose_of_use=PurposeOfUse.BTG)
    log.add(minutes=6, purpose_of_use=PurposeOfUse.ETREAT)  # ETREAT alone is no override
    [signal] = signals(log.events, BODO)
    assert (signal.kind, signal.day) == (SignalKind.EMERGENCY_OVERRIDE, date(2026, 1, 5))
    assert [e.sequence for e in signal.events] == [second[0].sequence, first[0].sequence]  # newest first
    assert signal.summary == "Sigrid Sykepleiersen (HPR 990000101) used emergency access 2 times on 2026-01-05."


def test_restricted_access_counts_flagged_events():
    log = Log()
    log.add(flagged=True, access_basis=AccessBasis.CONSENT_AT_MOMENT)
    [signal] = signals(log.events, BODO)
    assert signal.kind is SignalKind.RESTRICTED_ACCESS
    assert "opened restricted data 1 time on" in signal.summary


def test_repeated_denials_from_the_threshold_on():
    log = Log()
    log.add(REPEATED_DENIALS_THRESHOLD - 1, decision=Decision.DENY)
    assert signals(log.events, BODO) == []
    log.add(decision=Decision.DENY)
    [signal] = signals(log.events, BODO)
    assert signal.kind is SignalKind.REPEATED_DENIALS and len(signal.events) == REPEATED_DENIALS_THRESHOLD
    assert signal.summary.endswith(f"was denied access {REPEATED_DENIALS_THRESHOLD} times on 2026-01-05.")


def test_unusual_volume_from_the_threshold_on_with_at_most_100_events():
    log = Log()
    log.add(UNUSUAL_VOLUME_THRESHOLD - 1, patient_id=PATIENTS[1])
    assert signals(log.events, BODO) == []
    log.add()
    [signal] = signals(log.events, BODO)
    assert signal.kind is SignalKind.UNUSUAL_VOLUME
    assert "made 50 accesses concerning 2 patients" in signal.summary
    log.add(MAX_SIGNAL_EVENTS)
    [signal] = signals(log.events, BODO)
    assert len(signal.events) == MAX_SIGNAL_EVENTS
    assert signal.events[0].sequence == len(log.events)
    assert "made 150 accesses" in signal.summary


def test_days_are_oslo_days():
    log = Log()
    # 22:30 and 23:30 UTC on 2026-01-05 are 23:30 on the 5th and 00:30 on the 6th in Oslo.
    log.add(2, minutes=13 * 60 + 30, decision=Decision.DENY)
    log.add(2, minutes=14 * 60 + 30, decision=Decision.DENY)
    assert signals(log.events, BODO) == []
    log.add(minutes=14 * 60 + 31, decision=Decision.DENY)
    [signal] = signals(log.events, BODO)
    assert signal.day == date(2026, 1, 6)
    # In summer Oslo is UTC+2: 22:30 UTC is already the next day.
    summer = Log()
    summer.add(access_basis=AccessBasis.EMERGENCY, occurred_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC))
    assert signals(summer.events, BODO)[0].day == date(2026, 7, 2)


def test_actor_is_the_hpr_number_else_the_person_number_else_the_client():
    log = Log()
    # Same HPR number under two person numbers: one actor.
    log.add(2, decision=Decision.DENY)
    log.add(decision=Decision.DENY, actor_pid="12838510068")
    assert kinds(signals(log.events, BODO)) == [SignalKind.REPEATED_DENIALS]
    # Without HPR numbers, the person number tells actors apart; without both, the client.
    other = Log()
    other.add(2, decision=Decision.DENY, actor_hpr_number="")
    other.add(decision=Decision.DENY, actor_hpr_number="", actor_pid="12838510068")
    assert signals(other.events, BODO) == []
    system = Log()
    system.add(3, decision=Decision.DENY, actor_hpr_number="", actor_pid="", actor_name="", actor_client_id="job")
    [signal] = signals(system.events, BODO)
    assert signal.summary == "Client job was denied access 3 times on 2026-01-05."


def test_another_organisations_events_never_count():
    log = Log()
    log.add(REPEATED_DENIALS_THRESHOLD - 1, decision=Decision.DENY)
    log.add(UNUSUAL_VOLUME_THRESHOLD, decision=Decision.DENY, actor_orgnr_parent=BAERUM, flagged=True)
    log.add(access_basis=AccessBasis.EMERGENCY, actor_orgnr_parent=BAERUM)
    assert signals(log.events, BODO) == []
    assert set(kinds(signals(log.events, BAERUM))) == set(SignalKind)


def test_order_kind_filter_and_no_person_numbers_in_summaries():
    log = Log()
    log.add(access_basis=AccessBasis.EMERGENCY, flagged=True)  # both kinds at once
    log.add(minutes=24 * 60, access_basis=AccessBasis.EMERGENCY, actor_hpr_number="", actor_name="")
    found = signals(log.events, BODO)
    assert [(s.day.day, s.kind) for s in found] == [
        (6, SignalKind.EMERGENCY_OVERRIDE),
        (5, SignalKind.EMERGENCY_OVERRIDE),
        (5, SignalKind.RESTRICTED_ACCESS),
    ]
    assert found[0].summary.startswith("Client demo-ehr")  # named by client, not by person number
    for signal in found:
        assert not re.search(r"\d{11}", signal.summary)
    only = signals(log.events, BODO, frozenset({SignalKind.RESTRICTED_ACCESS}))
    assert kinds(only) == [SignalKind.RESTRICTED_ACCESS]
