"""The web pages' clients through the whole request path: real STS logins, the gateway, audit.

The staff client `samhandling-ansatt` is multi-tenant, so an auditor who logs in there acts for
her own organisation (Bodø kommune) and reads its access log; a patient logs in at
`samhandling-portal`. Both clients are DPoP-bound.
"""

from __future__ import annotations

import grpc
import pytest

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.common.v1 import common_pb2
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.token import Identity, Token, obtain_token
from services.platform.dpop import grpc_target, make_proof
from services.sts.token_client import StsTokenError
from tests.fixtures import people
from tests.support import expect_error

AUDIT = "nhn:samhandling/audit.read"
LIST_EVENTS = "/samhandling.audit.v1.AuditService/ListEvents"
GET_SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"


def dpop_metadata(suite, token: Token, method: str) -> tuple[tuple[str, str], ...]:
    assert token.dpop_key is not None
    proof = make_proof(
        token.dpop_key, "POST", grpc_target(suite.settings.gateway_public_url, method), access_token=token.access_token
    )
    return (("authorization", f"DPoP {token.access_token}"), ("dpop", proof))


async def test_an_auditor_logged_in_at_the_staff_client_reads_her_organisations_access_log(suite) -> None:
    # Something to find: Bodø's own EHR reads Eskil's summary.
    await summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL), metadata=await suite.auth("demo-ehr")
    )
    petra = await obtain_token(
        suite.settings, Identity("samhandling-ansatt", user=people.PETRA, scope=f"openid {AUDIT}"), dpop=True
    )

    answer = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=people.ESKIL), metadata=dpop_metadata(suite, petra, LIST_EVENTS)
    )

    assert any(e.actor.client_id == "demo-ehr" for e in answer.events)
    assert {e.actor.orgnr_parent for e in answer.events} == {"910000012"}  # her organisation's events only
    # That read of the log is itself logged: as an auditor's, of Bodø kommune, without an HPR number.
    own = await audit_pb2_grpc.AuditServiceStub(suite.gateway).ListEvents(
        audit_pb2.ListEventsRequest(patient_id=people.ESKIL), metadata=dpop_metadata(suite, petra, LIST_EVENTS)
    )
    mine = [e.actor for e in own.events if e.actor.client_id == "samhandling-ansatt"]
    assert mine and all(
        (a.kind, a.pid, a.hpr_number, a.orgnr_parent, a.orgnr_child)
        == (common_pb2.ACTOR_KIND_AUDITOR, people.PETRA, "", "910000012", "910000020")
        for a in mine
    )


async def test_the_auditor_reads_no_patient_data_and_a_nurse_gets_no_audit_scope(suite) -> None:
    petra = await obtain_token(
        suite.settings, Identity("samhandling-ansatt", user=people.PETRA, scope=AUDIT), dpop=True
    )

    await expect_error(
        summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).GetPatientSummary(
            summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL),
            metadata=dpop_metadata(suite, petra, GET_SUMMARY),
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "PRINCIPAL_NOT_ALLOWED",
    )
    with pytest.raises(StsTokenError, match="cannot log in"):
        await obtain_token(suite.settings, Identity("samhandling-ansatt", user=people.SIGRID, scope=AUDIT), dpop=True)


async def test_a_patient_logged_in_at_the_portal_reads_her_own_summary_with_dpop(suite) -> None:
    eskil = await obtain_token(suite.settings, Identity("samhandling-portal", patient=people.ESKIL), dpop=True)

    summary = await summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL), metadata=dpop_metadata(suite, eskil, GET_SUMMARY)
    )
    without_proof = summary_pb2_grpc.PatientSummaryServiceStub(suite.gateway).GetPatientSummary(
        summary_pb2.GetPatientSummaryRequest(patient_id=people.ESKIL),
        metadata=(("authorization", f"Bearer {eskil.access_token}"),),
    )

    assert summary.patient_id == people.ESKIL and len(summary.municipal_services) == 3
    await expect_error(without_proof, grpc.StatusCode.UNAUTHENTICATED, "DPOP_BOUND_TOKEN_AS_BEARER")
