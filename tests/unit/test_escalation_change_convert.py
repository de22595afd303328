"""The requests of the escalation changes and of a concern on the wire (services/summary/convert.py,
docs/escalation.md "API"): every problem of a request's own fields is named at once, each at the
field path the docs give, and a good request has none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from samhandling.summary.v1 import escalation_pb2 as E
from samhandling.summary.v1 import summary_pb2
from services.platform.protomap import to_timestamp
from services.summary import convert
from services.summary.escalation_episodes import Outcome
from services.summary.escalation_rules import Level
from services.summary.escalation_views import Box

ID = "esc-0123"
AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
LONG = "x" * 1001


def test_an_acknowledgement_names_a_missing_escalation_id_and_request_id_together():
    assert convert.change_violations(E.AcknowledgeEscalationRequest()) == {
        "escalation_id": "required",
        "request_id": "required",
    }
    assert convert.change_violations(E.AcknowledgeEscalationRequest(escalation_id=ID, request_id="a-1")) == {}
    assert convert.change_violations(E.AcknowledgeEscalationRequest(escalation_id="e" * 65, request_id="r" * 65)) == {
        "escalation_id": "at most 64 characters",
        "request_id": "at most 64 characters",
    }


def test_a_decline_names_its_ids_and_its_reason_together():
    assert convert.decline_violations(E.DeclineEscalationRequest()) == {
        "escalation_id": "required",
        "request_id": "required",
        "reason": "required",
    }
    assert (
        convert.decline_violations(E.DeclineEscalationRequest(escalation_id=ID, request_id="d-1", reason="Full")) == {}
    )


def test_a_reassessment_names_its_time_its_note_and_its_ids_together():
    at, problems = convert.reassessment_from_proto(E.PlanReassessmentRequest(note=LONG))
    assert at is None
    assert problems == {
        "escalation_id": "required",
        "request_id": "required",
        "note": "at most 1000 characters",
        "reassess_time": "required",
    }
    at, problems = convert.reassessment_from_proto(
        E.PlanReassessmentRequest(escalation_id=ID, request_id="p-1", reassess_time=to_timestamp(AT))
    )
    assert (at, problems) == (AT, {})


@pytest.mark.parametrize(
    ("outcome", "note", "expected"),
    [
        (
            E.ESCALATION_OUTCOME_UNSPECIFIED,
            LONG,
            {"outcome": "required: how the escalation ended", "note": "at most 1000 characters"},
        ),
        (E.ESCALATION_OUTCOME_OTHER, "", {"note": "required"}),  # OTHER needs a note
        (E.ESCALATION_OUTCOME_AUTO_NO_WORSENING, "", {"outcome": "is set only by the escalation itself"}),
    ],
)
def test_a_resolution_names_its_outcome_its_note_and_its_ids_together(outcome, note, expected):
    _, problems = convert.resolution_from_proto(E.ResolveEscalationRequest(outcome=outcome, note=note))
    assert problems == {"escalation_id": "required", "request_id": "required", **expected}


def test_a_good_resolution_gives_its_outcome():
    request = E.ResolveEscalationRequest(
        escalation_id=ID, request_id="r-1", outcome=E.ESCALATION_OUTCOME_OTHER, note="x"
    )
    assert convert.resolution_from_proto(request) == (Outcome.OTHER, {})


def test_a_concern_names_its_level_note_and_request_id_together():
    level, problems = convert.concern_from_proto(E.RaiseConcernRequest())
    assert level is None
    assert problems == {
        "level": "required: REVIEW, URGENT_REVIEW, URGENT or EMERGENCY",
        "note": "required",
        "request_id": "required",
    }
    good = E.RaiseConcernRequest(level=summary_pb2.ESCALATION_LEVEL_URGENT, note="Worse", request_id="c-1")
    assert convert.concern_from_proto(good) == (Level.URGENT, {})


def test_a_watch_names_its_box_and_a_position_no_sequence_hands_out_together():
    box, problems = convert.watch_from_proto(E.WatchEscalationsRequest(box=99, resume_after=-1))
    assert problems == {
        "box": "RECEIVED (the default) or SENT",
        "resume_after": "0 for a snapshot, or a position received before",
    }
    assert convert.watch_from_proto(E.WatchEscalationsRequest(box=E.ESCALATION_BOX_SENT, resume_after=7)) == (
        Box.SENT,
        {},
    )
