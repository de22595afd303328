"""The Starlette application of the JSON API: every route of routes.py turns its request
into an IncomingCall (metadata from the headers, DPoP target from the URL) and a proto
message, and runs the Enforcer exactly as the gRPC side does; answers and errors are JSON."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry import propagate
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.platform.errors import ServiceError

from ..authentication import AUTHORIZATION, DPOP, JUSTIFICATION
from ..calls import IncomingCall, Metadata
from ..enforcement import CONSENT_AT_MOMENT, Enforcer
from ..policy import POLICIES, MethodPolicy
from .bodies import is_utf8_media, read_body
from .decoding import json_object, request_message
from .errors import (
    error_body,
    error_response,
    internal,
    method_not_allowed,
    route_not_found,
    unsupported_media_type,
)
from .openapi import JWK_SET_MEDIA_TYPE, openapi_document
from .path_methods import Endpoint, PathMethods
from .readiness import READY_PATH, Readiness
from .receipt_keys import KEEP_SECONDS, ReceiptKeys
from .routes import API_ROUTES, NDJSON, OPENAPI_PATH, RECEIPT_KEYS_PATH, ApiRoute

if TYPE_CHECKING:
    from ..web.app import WebMount

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# The headers that become call metadata: the same names the gRPC side reads.
FORWARDED_HEADERS = (AUTHORIZATION, DPOP, JUSTIFICATION, CONSENT_AT_MOMENT)
NOSNIFF = {"x-content-type-options": "nosniff"}
# Answers about patients must not linger in browser or proxy caches.
NO_STORE = {"cache-control": "no-store", **NOSNIFF}

# The token-in-fragment capacity page is gone; its address leads to the page behind the login.
OLD_CAPACITY_PAGE = "/pages/capacity"
CAPACITY_PAGE = "/ansatt/kapasitet"


def create_app(
    enforcer: Enforcer,
    receipt_keys: ReceiptKeys,
    tracer_provider: TracerProvider,
    *,
    public_url: str | None = None,
    routes: Sequence[ApiRoute] = API_ROUTES,
    policies: Mapping[str, MethodPolicy] = POLICIES,
    readiness: Readiness | None = None,
    web: WebMount | None = None,
) -> Starlette:
    """`public_url`: the API's public base (scheme://host[:port][/prefix]) behind a proxy;
    without it a DPoP proof's htu is checked against the URL this server was asked for.
    `web`: the web pages (gateway/web), mounted beside the API; unknown paths outside /api/
    then get its HTML 404."""
    unlisted = [r.rpc for r in routes if r.rpc not in policies]
    if unlisted:
        raise ValueError(f"JSON API routes without a method policy: {', '.join(unlisted)}")
    tracer = tracer_provider.get_tracer(__name__)
    document = json.dumps(openapi_document(routes, policies, public_url=public_url)).encode()

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json", headers={"cache-control": "no-cache", **NOSNIFF})

    async def keys(request: Request) -> Response:
        cache = {"cache-control": f"public, max-age={int(KEEP_SECONDS)}", **NOSNIFF}
        return JSONResponse(await receipt_keys.jwks(), media_type=JWK_SET_MEDIA_TYPE, headers=cache)

    by_path: dict[str, dict[str, Endpoint]] = {}
    for route in routes:
        by_path.setdefault(route.path, {})[route.http_method] = _call(enforcer, route, policies[route.rpc], public_url)
    by_path[RECEIPT_KEYS_PATH] = {"GET": keys}
    by_path[OPENAPI_PATH] = {"GET": openapi}
    by_path[READY_PATH] = {"GET": (readiness or Readiness()).endpoint}
    by_path[OLD_CAPACITY_PAGE] = {"GET": _moved_capacity_page}
    starlette_routes = [
        Route(path, PathMethods({m: _traced(tracer, path, e) for m, e in methods.items()}, _method_not_allowed))
        for path, methods in by_path.items()
    ]
    handler = _route_not_found
    if web is not None:
        starlette_routes += web.routes
        web_not_found = web.not_found

        async def not_found(request: Request, exc: Exception) -> Response:
            if request.url.path == "/api" or request.url.path.startswith("/api/"):
                return await _route_not_found(request, exc)
            return await web_not_found(request)

        handler = not_found
    app = Starlette(routes=starlette_routes, exception_handlers={HTTPException: handler})
    # No redirects, ever: Starlette would answer a trailing slash with a 307 to the URL rebuilt
    # from the Host header (person number included); a near miss is the API's own 404.
    app.router.redirect_slashes = False
    return app


def _method_not_allowed(request: Request, allow: str) -> Response:
    return error_response(method_not_allowed(), {**NO_STORE, "allow": allow})


def _call(enforcer: Enforcer, route: ApiRoute, policy: MethodPolicy, public_url: str | None) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        body = await _json_body(request) if route.has_body else None
        message = request_message(
            route.request_type, path=request.path_params, query=request.query_params.multi_items(), body=body
        )
        call = IncomingCall(
            route.rpc, _metadata(request), _peer(request), htm=request.method, htu=_target(request, public_url)
        )
        if route.streams:
            # Authenticated and authorised before the answer starts, so refusals get their status.
            messages = await enforcer.open_stream(call, policy, message, route.response_type)
            return StreamingResponse(_ndjson(messages), media_type=NDJSON, headers=NO_STORE)
        answer = await enforcer.handle(call, policy, message, route.response_type)
        if route.document is not None:
            field, media_type = route.document
            return Response(getattr(answer, field), media_type=media_type, headers=NO_STORE)
        content = json_format.MessageToDict(answer, always_print_fields_with_no_presence=True)
        return JSONResponse(content, headers=NO_STORE)

    return endpoint


async def _moved_capacity_page(request: Request) -> Response:
    region = request.query_params.get("region")
    target = CAPACITY_PAGE + (f"?{urlencode({'region': region})}" if region is not None else "")
    return Response(status_code=301, headers={"location": target, **NOSNIFF})


async def _ndjson(messages: AsyncGenerator[Message, None]) -> AsyncIterator[bytes]:
    """One JSON object per line; an error after the answer has started (an expired token, a
    backend failure) is the last line, in the error body's form. Leaving (the client went away)
    closes the stream to the backend."""
    try:
        async for message in messages:
            content = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
            yield (json.dumps(content, ensure_ascii=False) + "\n").encode()
    except ServiceError as err:
        yield (json.dumps(error_body(err), ensure_ascii=False) + "\n").encode()
    finally:
        await messages.aclose()


def _traced(tracer: Tracer, template: str, endpoint: Endpoint) -> Endpoint:
    """A server span per request (the audit events carry its trace id), continuing the
    caller's W3C trace context as the gRPC side does; named by the route template, since
    the path holds person numbers. Every error becomes the JSON error body here."""

    async def traced(request: Request) -> Response:
        name = f"{request.method} {template}"
        attributes = {"http.request.method": request.method, "http.route": template}
        with tracer.start_as_current_span(
            name, context=propagate.extract(request.headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                response = await endpoint(request)
            except ServiceError as err:
                response = error_response(err, NO_STORE)
            except Exception:
                log.exception("unhandled error in %s", name)
                response = error_response(internal(), NO_STORE)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 500:
                span.set_status(Status(StatusCode.ERROR))
            return response

    return traced


async def _route_not_found(request: Request, exc: Exception) -> Response:
    """The router's 404 (its only refusal, as every route takes every method), in the API's error body."""
    return error_response(route_not_found(), NO_STORE)


async def _json_body(request: Request) -> dict:
    """The body as a JSON object, at most MAX_BODY_BYTES; an empty body is an empty object."""
    raw = await read_body(request, MAX_BODY_BYTES, "body")
    if not raw:
        return {}
    if not is_json(request.headers.get("content-type", "")):
        raise unsupported_media_type()
    return json_object(raw)


def is_json(content_type: str) -> bool:
    """application/json, in UTF-8 (the only charset RFC 8259 allows between systems)."""
    return is_utf8_media(content_type, "application/json")


def _metadata(request: Request) -> Metadata:
    return tuple((name, value) for name in FORWARDED_HEADERS for value in request.headers.getlist(name))


def _peer(request: Request) -> str:
    """The socket peer in gRPC's notation, so refusal logs read alike for both transports."""
    if request.client is None:
        return ""
    host, port = request.client
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"


def _target(request: Request, public_url: str | None) -> str:
    """The DPoP `htu`: the request URL without query and fragment (RFC 9449 section 4.3), with
    the path exactly as sent; behind a proxy the configured public base replaces scheme and host."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    if public_url:
        return public_url.rstrip("/") + path
    return f"{request.url.scheme}://{request.url.netloc.lower()}{path}"
