"""Who acts, pure: the domain's one `Actor`, shared by every service (its proto mapping is
services/platform/actor_convert.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.platform.vocabulary import ActorKind


@dataclass(frozen=True)
class Actor:
    """Who acts: everything a decision, a rule version or a notification records about them."""

    kind: ActorKind | None
    pid: str = ""
    name: str = ""
    client_id: str = ""
    client_name: str = ""
    hpr_number: str = ""
    authorization: str = ""
    orgnr_parent: str = ""
    orgnr_child: str = ""
