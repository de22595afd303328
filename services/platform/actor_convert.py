"""The one proto↔domain mapping of who acts: `samhandling.common.v1.Actor` to the domain's
`Actor` (services/platform/actors.py) and back, used by the gateway (the asserted actor it
sends on every hop), consent (rules, notifications, decisions) and capacity (alerts)."""

from __future__ import annotations

from samhandling.common.v1 import common_pb2
from services.platform.actors import Actor
from services.platform.protomap import from_enum, to_enum
from services.platform.vocabulary import ActorKind

# The proto numbers of the domain's kinds, mapped once (the gateway sends an actor on every call).
_KIND_NUMBERS = {kind: to_enum(common_pb2.ActorKind, kind) for kind in (*ActorKind, None)}


def actor_from_message(message: common_pb2.Actor) -> Actor:
    """The actor a message names; an unspecified or unknown kind is None."""
    return Actor(
        kind=from_enum(common_pb2.ActorKind, message.kind, ActorKind),
        pid=message.pid,
        name=message.name,
        client_id=message.client_id,
        client_name=message.client_name,
        hpr_number=message.hpr_number,
        authorization=message.authorization,
        orgnr_parent=message.orgnr_parent,
        orgnr_child=message.orgnr_child,
    )


def actor_message(actor: Actor) -> common_pb2.Actor:
    return common_pb2.Actor(
        kind=_KIND_NUMBERS[actor.kind],
        pid=actor.pid,
        name=actor.name,
        client_id=actor.client_id,
        client_name=actor.client_name,
        hpr_number=actor.hpr_number,
        authorization=actor.authorization,
        orgnr_parent=actor.orgnr_parent,
        orgnr_child=actor.orgnr_child,
    )
