"""Whether this gateway replica wants new requests: the JSON API's readiness endpoint.

A load balancer (the local cluster's HAProxy, a Kubernetes readiness probe) checks
`GET /healthz/ready`: 200 while the replica serves, 503 from the first moment of its drain.
The drain turns the gRPC port's health to NOT_SERVING at the same moment, and both ports keep
serving for the drain period, so a balancer that checks either one stops sending before the
replica stops accepting. The answer holds no patient data and needs no token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

READY_PATH = "/healthz/ready"
_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class Readiness:
    """Serving until `drain()`; never serving again afterwards (a drained replica stops)."""

    def __init__(self) -> None:
        self.serving = True

    def drain(self) -> None:
        self.serving = False

    async def endpoint(self, request: Request) -> Response:
        if self.serving:
            return JSONResponse({"status": "SERVING"}, headers=_HEADERS)
        return JSONResponse({"status": "NOT_SERVING"}, status_code=503, headers=_HEADERS)
