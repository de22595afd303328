"""services/summary/escalation_isbar.py: the handover view of an escalation, in bokmål, from the
episode, its patient and its measurements (Oslo times, the NEWS2 trend, the newest parameter
scores, Chart 4's response for the level; a concern's note)."""

from __future__ import annotations

from services.summary.escalation_episodes import record_measurement
from services.summary.escalation_isbar import isbar
from services.summary.escalation_rules import CHART4_RESPONSE, AcknowledgeWithin, Band, Level, evaluate
from services.summary.patients import Patient
from services.summary.vitals import assess
from tests.fixtures.escalation import (
    PATIENT,
    PATIENT_BORN,
    RECORDER,
    T0,
    actor,
    first_concern,
    measurement,
    minutes,
    routes,
)

TOR = Patient(PATIENT, "Tor Tenktsen", "1804")
WITHIN = AcknowledgeWithin()


def test_a_scored_escalation_names_the_patient_the_trend_the_newest_scores_and_the_response():
    earlier, newest = measurement(T0 - minutes(60), 1, mid="m1"), measurement(T0, 7, mid="m2")
    opened = record_measurement(
        None,
        measurement_id="m2",
        measured_at=T0,
        evaluation=evaluate(newest, PATIENT_BORN, ()),
        new_episode_id="e1",
        patient_id=PATIENT,
        source_orgnr=RECORDER,
        routes=routes(T0),
        now=T0,
        within=WITHIN,
    ).episode
    assert opened is not None
    view = isbar(opened, TOR, [(m, assess(m, PATIENT_BORN)) for m in (earlier, newest)])
    assert view.identify == f"Pasient Tor Tenktsen, født 16.10.1985. Varslet fra organisasjon {RECORDER}."
    assert view.situation.startswith("Varsel på nivå akutt (EMERGENCY) siden 04.11.2026 10:00")
    assert view.background == "NEWS2-utvikling: 1 (04.11.2026 09:00), 7 (04.11.2026 10:00). Målinger i varselet: 2."
    assert view.assessment.startswith("Nyeste NEWS2 7 (04.11.2026 10:00): respirasjonsfrekvens ")
    assert view.recommendation == CHART4_RESPONSE[Band.HIGH].nb


def test_a_concern_says_what_worries_the_health_person():
    opened = first_concern(
        actor("910000055", "990000103", "Kristin Korttidsen"), Level.URGENT_REVIEW, "Mer forvirret enn i går", T0
    ).episode
    assert opened is not None
    view = isbar(opened, TOR, [])
    assert view.situation.endswith("bekymring meldt av helsepersonell: Mer forvirret enn i går.")
    assert (view.background, view.assessment) == (
        "Ingen NEWS2-skår i varselet. Målinger i varselet: 0.",
        "Ingen skåret måling å vurdere.",
    )
    assert view.recommendation == CHART4_RESPONSE[Band.RED_SCORE].nb
