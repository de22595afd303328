"""Every number a client sends for paging (page tokens, page sizes, positions to resume after) is
range-checked where it is parsed (services/platform/paging.py): through the gateway, over gRPC and
the JSON API, an out-of-range value is INVALID_ARGUMENT (HTTP 400) naming the field, never
INTERNAL. A token for sequence 2^63 used to overflow SQLite's integers (HTTP 500)."""

from __future__ import annotations

import base64

import grpc
import httpx
import pytest

from samhandling.audit.v1 import audit_pb2, audit_pb2_grpc
from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import escalation_pb2, escalation_pb2_grpc
from services.audit.search import LogFilter, encode_filtered_token
from services.platform.errors import error_info
from services.platform.paging import MAX_POSITION
from tests.fixtures import people
from tests.fixtures.patient_calls import as_patient

PATIENT = people.ESKIL
AFTER_THE_LARGEST = base64.urlsafe_b64encode(f"v1:{MAX_POSITION + 1}".encode()).decode()  # sequence 2^63
LARGEST = base64.urlsafe_b64encode(f"v1:{MAX_POSITION}".encode()).decode()
BAD_TOKENS = (AFTER_THE_LARGEST, "A" * 10_000, base64.urlsafe_b64encode(b"v1:-1").decode())
BAD_SIZES = (-1, -(2**31), 2**31 - 1)
# The patient's access log (ListEvents) binds its tokens to the filters they were made for.
LOG_LARGEST = encode_filtered_token(MAX_POSITION, LogFilter())
LOG_AFTER_THE_LARGEST = base64.urlsafe_b64encode(f"f1:{LogFilter().digest()}:{MAX_POSITION + 1}".encode()).decode()
LOG_BAD_TOKENS = (LOG_AFTER_THE_LARGEST, LARGEST, *BAD_TOKENS[1:])  # a plain token is not the log's either


def tokens(log: bool) -> tuple[str, str, tuple[str, ...]]:
    """(the largest token accepted, the smallest too large, tokens refused) of a list."""
    return (LOG_LARGEST, LOG_AFTER_THE_LARGEST, LOG_BAD_TOKENS) if log else (LARGEST, AFTER_THE_LARGEST, BAD_TOKENS)


async def refused(call) -> tuple[grpc.StatusCode, str, set[str]]:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    reason, violations = error_info(err.value)
    return err.value.code(), reason, set(violations)


async def test_paging_numbers_out_of_range_are_invalid_arguments_over_grpc(suite):
    audit = audit_pb2_grpc.AuditServiceStub(suite.gateway)
    consent = consent_pb2_grpc.ConsentServiceStub(suite.gateway)
    capacity = capacity_pb2_grpc.CapacityServiceStub(suite.gateway)
    escalation = escalation_pb2_grpc.EscalationServiceStub(suite.gateway)
    patient, auditor, hospital = (
        await as_patient(suite.settings, PATIENT),
        await suite.auth("demo-auditor"),
        await suite.auth("demo-hospital"),
    )
    lists = [
        (audit.ListEvents, lambda **f: audit_pb2.ListEventsRequest(patient_id=PATIENT, **f), patient),
        (audit.SearchEvents, lambda **f: audit_pb2.SearchEventsRequest(**f), auditor),
        (audit.ListSignals, lambda **f: audit_pb2.ListSignalsRequest(**f), auditor),
        (escalation.ListEscalationSignals, lambda **f: escalation_pb2.ListEscalationSignalsRequest(**f), auditor),
        (consent.ListNotifications, lambda **f: consent_pb2.ListNotificationsRequest(patient_id=PATIENT, **f), patient),
        (consent.ListRules, lambda **f: consent_pb2.ListRulesRequest(patient_id=PATIENT, **f), patient),
        (consent.ListRuleHistory, lambda **f: consent_pb2.ListRuleHistoryRequest(patient_id=PATIENT, **f), patient),
        (capacity.ListAlerts, lambda **f: capacity_pb2.ListAlertsRequest(**f), hospital),
    ]
    for method, request, metadata in lists:
        largest, _, bad_tokens = tokens(method is audit.ListEvents)
        # The largest position a token may carry is accepted (an empty page), one more is not.
        await method(request(page_token=largest), metadata=metadata)
        for paging in [*({"page_token": t} for t in bad_tokens), *({"page_size": s} for s in BAD_SIZES)]:
            assert await refused(method(request(**paging), metadata=metadata)) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_ARGUMENT",
                set(paging),
            ), (method, paging)

    for resume_after in (-1, -(2**63), MAX_POSITION):
        watch = capacity.WatchAlerts(capacity_pb2.WatchAlertsRequest(resume_after=resume_after), metadata=hospital)
        assert await refused(watch.read()) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", {"resume_after"})
        watch = capacity.WatchCapacity(capacity_pb2.WatchCapacityRequest(resume_after=resume_after), metadata=hospital)
        assert await refused(watch.read()) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", {"resume_after"})


async def test_paging_numbers_out_of_range_are_400_on_the_json_routes(suite):
    base = f"http://{suite.settings.addresses['gateway_http']}/api/v1"
    patient = dict(await as_patient(suite.settings, PATIENT))
    hospital = dict(await suite.auth("demo-hospital"))
    auditor = dict(await suite.auth("demo-auditor"))
    routes = [
        (f"{base}/patients/{PATIENT}/{path}", patient)
        for path in ("access-log", "notifications", "rules", "rules:history")
    ] + [(f"{base}/alerts", hospital), (f"{base}/escalations:signals", auditor)]
    async with httpx.AsyncClient(timeout=30.0) as client:
        for url, headers in routes:
            largest, after_the_largest, bad_tokens = tokens(url.endswith("/access-log"))
            assert (await client.get(url, headers=headers, params={"pageToken": largest})).status_code == 200, url
            for name, value in [
                *(("pageToken", t) for t in bad_tokens),
                *(("pageSize", str(s)) for s in BAD_SIZES),
                ("pageSize", str(2**63)),
                ("page_token", after_the_largest),
            ]:
                answer = await client.get(url, headers=headers, params={name: value})
                assert answer.status_code == 400, (url, name, value, answer.text[:300])
                error = answer.json()["error"]
                assert error["reason"] == "INVALID_ARGUMENT"
                assert {v["field"] for v in error["fieldViolations"]} in ({"page_token"}, {"page_size"}, {"pageSize"})
        for resume_after in ("-1", str(MAX_POSITION)):
            answer = await client.get(f"{base}/alerts:watch", headers=hospital, params={"resumeAfter": resume_after})
            assert answer.status_code == 400, answer.text[:300]
