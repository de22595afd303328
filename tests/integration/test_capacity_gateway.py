"""Alerts through the gateway with real STS tokens: only the alerts scope raises, a targeted
organisation acknowledges, anyone else is refused, and the sender sees who has acknowledged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from tests.support import expect_error

BODO_KOMMUNE = "910000012"


def alert(request_id: str) -> capacity_pb2.RaiseAlertRequest:
    return capacity_pb2.RaiseAlertRequest(
        severity=capacity_pb2.ALERT_SEVERITY_WARNING,
        message="Akuttmottaket er fullt, styr pasienter til KAD",
        target_orgnrs=[BODO_KOMMUNE],
        expire_time=datetime.now(UTC) + timedelta(hours=6),
        request_id=request_id,
    )


async def test_alerts_are_raised_with_the_alerts_scope_and_acknowledged_by_their_targets(suite):
    stub = capacity_pb2_grpc.CapacityServiceStub(suite.gateway)
    await expect_error(
        stub.RaiseAlert(alert("no-scope"), metadata=await suite.auth("demo-ehr")),
        grpc.StatusCode.PERMISSION_DENIED,
        "SCOPE_MISSING",
    )

    hospital = await suite.auth("demo-hospital")
    raised = (await stub.RaiseAlert(alert("full-ed-1"), metadata=hospital)).alert
    assert (list(raised.target_orgnrs), list(raised.pending_orgnrs)) == ([BODO_KOMMUNE], [BODO_KOMMUNE])

    await expect_error(
        stub.AcknowledgeAlert(
            capacity_pb2.AcknowledgeAlertRequest(alert_id=raised.alert_id), metadata=await suite.auth("demo-ehr-baerum")
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "ALERT_NOT_TARGETED",
    )
    await stub.AcknowledgeAlert(
        capacity_pb2.AcknowledgeAlertRequest(alert_id=raised.alert_id, note="KAD tar imot"),
        metadata=await suite.auth("demo-ehr"),
    )

    (seen,) = [
        a
        for a in (await stub.ListAlerts(capacity_pb2.ListAlertsRequest(), metadata=hospital)).alerts
        if a.alert_id == raised.alert_id
    ]
    assert [(a.orgnr, a.client_id, a.note) for a in seen.acknowledgements] == [
        (BODO_KOMMUNE, "demo-ehr", "KAD tar imot")
    ]
    assert not seen.pending_orgnrs
