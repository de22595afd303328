"""Who reads which audit events, and how lists are paged."""

import base64

import pytest

from services.audit.events import ActorKind
from services.audit.read_scope import ReadScope, leaf_scope, read_scope
from services.platform.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    InvalidPage,
    decode_page_token,
    encode_page_token,
    page_size,
)
from tests.fixtures import people

PATIENT = people.ESKIL
BODO = "910000012"


def test_an_auditor_sees_the_events_of_their_own_organisation():
    assert read_scope(ActorKind.AUDITOR, BODO, "", PATIENT) == ReadScope(PATIENT, BODO, shows_actor_pid=True)


def test_a_patient_sees_every_event_about_themselves_without_staff_person_numbers():
    assert read_scope(ActorKind.PATIENT, "", PATIENT, PATIENT) == ReadScope(PATIENT, None, shows_actor_pid=False)


def test_a_representative_reads_the_log_the_consent_decision_opened():
    guardian = people.MIKKEL
    assert read_scope(ActorKind.PATIENT, "", guardian, PATIENT, consent_permitted=True) == ReadScope(
        PATIENT, None, shows_actor_pid=False
    )
    assert read_scope(ActorKind.PATIENT, "", guardian, PATIENT) is None


@pytest.mark.parametrize(
    ("kind", "orgnr_parent", "pid"),
    [
        (ActorKind.AUDITOR, "", ""),  # an auditor bound to no organisation
        (ActorKind.PATIENT, "", people.RAGNHILD),  # another patient
        (ActorKind.PATIENT, "", ""),
        (ActorKind.PERSONNEL, BODO, people.SIGRID),
        (ActorKind.SYSTEM, BODO, ""),
        (None, BODO, PATIENT),
    ],
)
def test_everyone_else_sees_nothing(kind, orgnr_parent, pid):
    assert read_scope(kind, orgnr_parent, pid, PATIENT) is None


def test_page_size_defaults_and_bounds():
    assert page_size(0) == DEFAULT_PAGE_SIZE
    assert page_size(1) == 1
    assert page_size(MAX_PAGE_SIZE) == MAX_PAGE_SIZE
    for bad in (-1, MAX_PAGE_SIZE + 1):
        with pytest.raises(InvalidPage):
            page_size(bad)


def test_page_tokens_round_trip():
    assert decode_page_token("") is None
    assert decode_page_token(encode_page_token(1)) == 1
    assert decode_page_token(encode_page_token(9_000_000_000)) == 9_000_000_000


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "ø",
        base64.urlsafe_b64encode(b"v1:0").decode(),
        base64.urlsafe_b64encode(b"v1:-3").decode(),
        base64.urlsafe_b64encode(b"v2:12").decode(),
        base64.urlsafe_b64encode(b"12").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "dj",  # bad padding
    ],
)
def test_foreign_page_tokens_are_refused(token):
    with pytest.raises(InvalidPage):
        decode_page_token(token)


def test_an_auditor_sees_the_leaf_data_of_their_own_organisations_events_only():
    scope = leaf_scope(ActorKind.AUDITOR, BODO)
    assert scope.shows(BODO) and not scope.shows("910000047") and not scope.shows("")


@pytest.mark.parametrize(
    ("kind", "orgnr_parent"),
    [
        (ActorKind.AUDITOR, ""),
        (ActorKind.PATIENT, BODO),
        (ActorKind.PERSONNEL, BODO),
        (ActorKind.SYSTEM, BODO),
        (None, BODO),
    ],
)
def test_everyone_else_sees_only_leaf_hashes(kind, orgnr_parent):
    scope = leaf_scope(kind, orgnr_parent)
    assert not scope.shows(BODO) and not scope.shows("")
