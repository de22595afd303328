"""The descriptor-built strategies of the fuzz (tests/proto_strategies.py) draw what they say:
every request type of the gateway, edge values and undefined enum numbers, bounded sizes, and
changes that keep the rest of a valid request."""

from __future__ import annotations

import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings

from gateway.grpc_handlers import SERVICES
from samhandling.capacity.v1 import capacity_pb2
from tests.proto_strategies import MAX_REPEATED, messages, mutations, raw_requests

REQUEST_TYPES = sorted({m.input_type.full_name: m.input_type for s in SERVICES for m in s.methods}.items())
QUICK = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def repeated_sizes(message: Message) -> list[int]:
    """The size of every repeated field and map in `message`, nested ones included."""
    sizes = []
    for field, value in message.ListFields():
        items = [value]
        if field.is_repeated:
            sizes.append(len(value))
            is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
            items = list(value.values()) if is_map else list(value)
        sizes += [size for item in items if isinstance(item, Message) for size in repeated_sizes(item)]
    return sizes


@pytest.mark.parametrize("descriptor", [d for _, d in REQUEST_TYPES], ids=[name for name, _ in REQUEST_TYPES])
def test_every_request_type_of_the_gateway_is_drawn_within_its_bounds(descriptor):
    @QUICK
    @given(messages(descriptor))
    def drawn(message) -> None:
        assert message.DESCRIPTOR is descriptor
        message.SerializeToString()  # every drawn value can be sent
        assert all(size <= MAX_REPEATED for size in repeated_sizes(message))

    drawn()


def test_edge_values_and_undefined_enum_numbers_are_drawn():
    seen = {"total": set(), "status": set(), "note": set()}

    @settings(QUICK, max_examples=300)
    @given(messages(capacity_pb2.ReportCapacityRequest.DESCRIPTOR))
    def drawn(message) -> None:
        seen["total"].add(message.total)
        seen["status"].add(message.status)
        seen["note"].add(message.note)

    drawn()
    assert {-(2**31), 2**31 - 1} <= seen["total"]
    assert seen["status"] - set(capacity_pb2.CapacityStatus.values())  # numbers the enum does not define
    assert any("\x00" in note for note in seen["note"]) and any("\u202e" in note for note in seen["note"])


def test_a_mutation_changes_at_most_two_fields_of_the_valid_request():
    base = capacity_pb2.ReportCapacityRequest(unit_id="bodo-kad", resource_type="bed", total=3, available=1, occupied=2)

    @QUICK
    @given(mutations(base))
    def changed(message) -> None:
        differing = [f.name for f in base.DESCRIPTOR.fields if getattr(message, f.name) != getattr(base, f.name)]
        assert len(differing) <= 2

    changed()


def test_raw_requests_are_bounded_and_mostly_undecodable():
    undecodable = []

    @settings(QUICK, max_examples=100)
    @given(raw_requests())
    def drawn(body: bytes) -> None:
        assert len(body) <= 256
        try:
            capacity_pb2.ReportCapacityRequest.FromString(body)
        except DecodeError:
            undecodable.append(body)

    drawn()
    assert len(undecodable) >= 30
