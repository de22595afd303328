"""Capacity service over real gRPC with a real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import grpc
import pytest

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.errors import error_info
from tests.support import asserted, running_backend, settings_for

OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
REPORT = "/samhandling.capacity.v1.CapacityService/ReportCapacity"
# Points of care of Bodø kommune, the organisation of the demo-ehr actor the assertions carry.
BODO_POINTS_OF_CARE = {"910000020", "910000039"}


@pytest.fixture
def settings(tmp_path, db_url):
    return settings_for(tmp_path, capacity=db_url)


async def test_overview_lists_seeded_units_and_filters(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        everything = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert len(everything.units) >= 2
        assert all(u.resources for u in everything.units)
        bodo = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(municipality_number="1804"),
            metadata=asserted(settings, "capacity", OVERVIEW),
        )
        assert bodo.units and {u.municipality_number for u in bodo.units} == {"1804"}
        assert len(bodo.units) < len(everything.units)


async def test_report_is_stored_and_attributed(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        overview = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        unit_id = next(u.unit_id for u in overview.units if u.orgnr in BODO_POINTS_OF_CARE)
        request = capacity_pb2.ReportCapacityRequest(
            unit_id=unit_id, resource_type="bed", total=10, available=1, occupied=9,
            status=capacity_pb2.CAPACITY_STATUS_STRAINED, note="influensa",
        )
        answer = await stub.ReportCapacity(request, metadata=asserted(settings, "capacity", REPORT))
        bed = next(r for r in answer.unit.resources if r.resource_type == "bed")
        assert (bed.total, bed.available, bed.occupied, bed.status) == (10, 1, 9, capacity_pb2.CAPACITY_STATUS_STRAINED)
        assert bed.reported_by == "demo-ehr"


async def test_invalid_report_changes_nothing(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        before = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        unit_id = next(u.unit_id for u in before.units if u.orgnr in BODO_POINTS_OF_CARE)
        bad = capacity_pb2.ReportCapacityRequest(
            unit_id=unit_id, resource_type="bed", total=2, available=2, occupied=1,
            status=capacity_pb2.CAPACITY_STATUS_NORMAL,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ReportCapacity(bad, metadata=asserted(settings, "capacity", REPORT))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "available" in error_info(err.value)[1]
        after = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert after == before


async def test_only_the_owning_organisation_reports_a_unit(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        overview = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        foreign = next(u for u in overview.units if u.orgnr not in BODO_POINTS_OF_CARE)
        request = capacity_pb2.ReportCapacityRequest(
            unit_id=foreign.unit_id, resource_type="bed", total=1, status=capacity_pb2.CAPACITY_STATUS_FULL
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ReportCapacity(request, metadata=asserted(settings, "capacity", REPORT))
        assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "UNIT_NOT_OWNED")
        after = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert after == overview


async def test_unknown_unit_is_not_found(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        request = capacity_pb2.ReportCapacityRequest(
            unit_id="nope", resource_type="bed", total=1, status=capacity_pb2.CAPACITY_STATUS_NORMAL
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ReportCapacity(request, metadata=asserted(settings, "capacity", REPORT))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        assert error_info(err.value)[0] == "UNIT_NOT_FOUND"


async def test_backend_refuses_calls_without_a_valid_assertion(tmp_path):
    settings = settings_for(tmp_path)
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        cases = {
            "ASSERTION_MISSING": (),
            "ASSERTION_RETARGETED": asserted(settings, "capacity", REPORT),
            "ASSERTION_INVALID": asserted(settings, "summary", OVERVIEW),
        }
        for reason, metadata in cases.items():
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetCapacityOverview(capacity_pb2.GetCapacityOverviewRequest(), metadata=metadata)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error_info(err.value)[0] == reason
        once = asserted(settings, "capacity", OVERVIEW)
        await stub.GetCapacityOverview(capacity_pb2.GetCapacityOverviewRequest(), metadata=once)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetCapacityOverview(capacity_pb2.GetCapacityOverviewRequest(), metadata=once)
        assert error_info(err.value)[0] == "ASSERTION_REPLAYED"
