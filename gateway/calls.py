"""One incoming call as the gateway's request path sees it, whatever the transport: the gRPC
method it maps to (the key of the policy table), its metadata, and the DPoP target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc

Metadata = Sequence[tuple[str, str | bytes]]


@dataclass(frozen=True)
class IncomingCall:
    method: str  # full gRPC method name, e.g. /samhandling.summary.v1.PatientSummaryService/GetPatientSummary
    metadata: Metadata  # lower-case keys, as gRPC delivers them
    peer: str = ""
    # DPoP binding (RFC 9449): the HTTP method and target URI a proof must name. For gRPC,
    # POST and "" (meaning: the gateway's public URL + "/" + the method, dpop.grpc_target).
    htm: str = "POST"
    htu: str = ""

    @classmethod
    def from_grpc(cls, method: str, context: grpc.aio.ServicerContext) -> IncomingCall:
        return cls(method, tuple(context.invocation_metadata() or ()), context.peer() or "")
