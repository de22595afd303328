"""Capacity service over real gRPC with a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest

from samhandling.capacity.v1 import capacity_pb2, capacity_pb2_grpc
from services.platform.errors import error_info
from services.platform.protomap import to_timestamp
from tests.support import asserted, running_backend, settings_for

OVERVIEW = "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
REPORT = "/samhandling.capacity.v1.CapacityService/ReportCapacity"
HISTORY = "/samhandling.capacity.v1.CapacityService/ListCapacityHistory"
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
        kad_in_akershus = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(region="Akershus", unit_type=capacity_pb2.UNIT_TYPE_KAD),
            metadata=asserted(settings, "capacity", OVERVIEW),
        )
        assert [u.unit_id for u in kad_in_akershus.units] == ["baerum-helsehus-kad"]


async def test_overview_sums_each_resource_type_and_tells_its_position(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        overview = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(region="Nordland"),
            metadata=asserted(settings, "capacity", OVERVIEW),
        )
        beds = [r for u in overview.units for r in u.resources if r.resource_type == "isolation_bed"]
        (isolation,) = [t for t in overview.totals if t.resource_type == "isolation_bed"]
        assert (isolation.total, isolation.available, isolation.occupied, isolation.unit_count) == (
            sum(r.total for r in beds),
            sum(r.available for r in beds),
            sum(r.occupied for r in beds),
            len(beds),
        )
        assert [t.resource_type for t in overview.totals] == sorted(
            {r.resource_type for u in overview.units for r in u.resources}
        )
        # Every seeded report is one change: the position counts them all, whatever the filter.
        everything = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert overview.position == everything.position == sum(len(u.resources) for u in everything.units)


async def test_report_is_stored_and_attributed(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        overview = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        unit_id = next(u.unit_id for u in overview.units if u.orgnr in BODO_POINTS_OF_CARE)
        request = capacity_pb2.ReportCapacityRequest(
            unit_id=unit_id,
            resource_type="bed",
            total=10,
            available=1,
            occupied=9,
            status=capacity_pb2.CAPACITY_STATUS_STRAINED,
            note="influensa",
        )
        answer = await stub.ReportCapacity(request, metadata=asserted(settings, "capacity", REPORT))
        bed = next(r for r in answer.unit.resources if r.resource_type == "bed")
        assert (bed.total, bed.available, bed.occupied, bed.status) == (10, 1, 9, capacity_pb2.CAPACITY_STATUS_STRAINED)
        assert bed.reported_by == "demo-ehr"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"total": 2, "available": 2, "occupied": 1}, "available"),
        ({"total": 2, "available": 3, "occupied": 0}, "available"),
        ({"total": -1}, "total"),
        ({"available": -1}, "available"),
        ({"occupied": -2}, "occupied"),
        ({"status": capacity_pb2.CAPACITY_STATUS_UNSPECIFIED}, "status"),
        ({"resource_type": "Beds!"}, "resource_type"),
        ({"note": "x" * 501}, "note"),
    ],
)
async def test_invalid_report_is_refused_with_a_field_violation_and_changes_nothing(settings, values, field):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        before = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        unit_id = next(u.unit_id for u in before.units if u.orgnr in BODO_POINTS_OF_CARE)
        fields = {
            "resource_type": "bed",
            "total": 10,
            "available": 1,
            "occupied": 1,
            "status": capacity_pb2.CAPACITY_STATUS_NORMAL,
        } | values
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ReportCapacity(
                capacity_pb2.ReportCapacityRequest(unit_id=unit_id, **fields),
                metadata=asserted(settings, "capacity", REPORT),
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error_info(err.value)[1]
        after = await stub.GetCapacityOverview(
            capacity_pb2.GetCapacityOverviewRequest(), metadata=asserted(settings, "capacity", OVERVIEW)
        )
        assert after == before  # position included: no change was recorded


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


async def test_history_keeps_every_report_oldest_first(settings):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        start = datetime.now(UTC)  # after the seed's reports
        for available in (5, 4, 3):
            await stub.ReportCapacity(
                capacity_pb2.ReportCapacityRequest(
                    unit_id="bodo-kad",
                    resource_type="bed",
                    total=8,
                    available=available,
                    occupied=8 - available,
                    status=capacity_pb2.CAPACITY_STATUS_STRAINED,
                ),
                metadata=asserted(settings, "capacity", REPORT),
            )
        await stub.ReportCapacity(
            capacity_pb2.ReportCapacityRequest(
                unit_id="bodo-kad",
                resource_type="stretcher",
                total=2,
                available=2,
                status=capacity_pb2.CAPACITY_STATUS_NORMAL,
            ),
            metadata=asserted(settings, "capacity", REPORT),
        )

        async def history(**fields) -> capacity_pb2.ListCapacityHistoryResponse:
            request = capacity_pb2.ListCapacityHistoryRequest(unit_id="bodo-kad", from_time=to_timestamp(start))
            for name, value in fields.items():
                if name.endswith("_time"):
                    getattr(request, name).CopyFrom(value)
                else:
                    setattr(request, name, value)
            return await stub.ListCapacityHistory(request, metadata=asserted(settings, "capacity", HISTORY))

        beds = await history(resource_type="bed")
        assert [r.resource.available for r in beds.reports] == [5, 4, 3] and not beds.truncated
        positions = [r.position for r in beds.reports]
        assert positions == sorted(positions) and len(set(positions)) == 3
        assert all(r.unit_id == "bodo-kad" and r.resource.reported_by == "demo-ehr" for r in beds.reports)
        assert [r.resource.resource_type for r in (await history()).reports] == ["bed"] * 3 + ["stretcher"]
        # The seed's report came before `start`: a range ending there holds only it.
        day_before = to_timestamp(start - timedelta(days=1))
        before = await history(from_time=day_before, to_time=to_timestamp(start), resource_type="bed")
        assert [(r.resource.available, r.resource.reported_by) for r in before.reports] == [(1, "seed")]
        since_seed = await history(from_time=day_before, resource_type="bed")
        assert [r.resource.available for r in since_seed.reports] == [1, 5, 4, 3]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"from_time": None}, "from_time"),
        ({"to_time": -1}, "to_time"),
        ({"to_time": 367}, "to_time"),
        ({"resource_type": "Bed"}, "resource_type"),
        ({"unit_id": ""}, "unit_id"),
    ],
)
async def test_history_request_is_validated(settings, fields, field):
    async with running_backend("capacity", settings) as channel:
        stub = capacity_pb2_grpc.CapacityServiceStub(channel)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        request = capacity_pb2.ListCapacityHistoryRequest(unit_id="bodo-kad", from_time=to_timestamp(start))
        for name, value in fields.items():
            if name == "from_time":
                request.ClearField("from_time")
            elif name == "to_time":
                request.to_time.CopyFrom(to_timestamp(start + timedelta(days=value)))
            else:
                setattr(request, name, value)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListCapacityHistory(request, metadata=asserted(settings, "capacity", HISTORY))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in error_info(err.value)[1]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListCapacityHistory(
                capacity_pb2.ListCapacityHistoryRequest(unit_id="nope", from_time=to_timestamp(start)),
                metadata=asserted(settings, "capacity", HISTORY),
            )
        assert (err.value.code(), error_info(err.value)[0]) == (grpc.StatusCode.NOT_FOUND, "UNIT_NOT_FOUND")


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
