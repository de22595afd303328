"""The one Actor mapping (services/platform/actor_convert.py): every field of the proto is
carried both ways, every kind keeps its number, and the gateway's asserted actor is the
message the services read back (pure: no servers)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from gateway.principal import Principal
from samhandling.common.v1 import common_pb2
from services.platform.actor_convert import actor_from_message, actor_message
from services.platform.actors import Actor
from services.platform.vocabulary import ActorKind

SIGRID = Actor(  # Sigrid Sykepleiersen (seeds/personnel.json), nurse in Bodø home nursing
    ActorKind.PERSONNEL,
    pid="08847810026",
    name="Sigrid Sykepleiersen",
    client_id="demo-ehr",
    client_name="Demo EHR Bodø",
    hpr_number="990000101",
    authorization="SP",
    orgnr_parent="910000012",
    orgnr_child="910000020",
)


def test_the_domain_actor_has_exactly_the_fields_of_the_message() -> None:
    """A field added to common.v1.Actor without the domain (or the mapping) fails here."""
    assert {f.name for f in fields(Actor)} == {f.name for f in common_pb2.Actor.DESCRIPTOR.fields}


def test_every_field_survives_the_round_trip() -> None:
    message = actor_message(SIGRID)
    assert {f.name for f, _ in message.ListFields()} == {f.name for f in fields(Actor)}
    assert actor_from_message(message) == SIGRID
    assert actor_from_message(common_pb2.Actor.FromString(message.SerializeToString())) == SIGRID


@pytest.mark.parametrize("kind", [*ActorKind, None])
def test_every_kind_keeps_its_proto_number(kind: ActorKind | None) -> None:
    number = actor_message(Actor(kind)).kind
    assert common_pb2.ActorKind.Name(number) == (f"ACTOR_KIND_{kind.name}" if kind else "ACTOR_KIND_UNSPECIFIED")
    assert actor_from_message(common_pb2.Actor(kind=number)).kind is kind


def test_an_unknown_kind_reads_as_none() -> None:
    unknown = max(common_pb2.ActorKind.values()) + 1
    assert actor_from_message(common_pb2.Actor(kind=unknown, pid="08847810026")) == Actor(None, pid="08847810026")


def test_the_gateway_asserts_the_actor_the_services_read() -> None:
    principal = Principal(
        kind=ActorKind.PERSONNEL,
        client_id=SIGRID.client_id,
        client_name=SIGRID.client_name,
        scopes=frozenset(),
        expires_at=datetime(2027, 1, 1, tzinfo=UTC),
        pid=SIGRID.pid,
        hpr_number=SIGRID.hpr_number,
        authorization=SIGRID.authorization,
        orgnr_parent=SIGRID.orgnr_parent,
        orgnr_child=SIGRID.orgnr_child,
    )
    sent = principal.to_actor()
    # The bytes the gateway signed before the shared mapping (no name: a token carries none).
    assert sent.SerializeToString(deterministic=True) == common_pb2.Actor(
        kind=common_pb2.ACTOR_KIND_PERSONNEL,
        client_id="demo-ehr",
        client_name="Demo EHR Bodø",
        pid="08847810026",
        hpr_number="990000101",
        authorization="SP",
        orgnr_parent="910000012",
        orgnr_child="910000020",
    ).SerializeToString(deterministic=True)
    assert actor_from_message(sent) == principal.actor() == Actor(**{**SIGRID.__dict__, "name": ""})
