"""The STS's HTTP surface: discovery, JWKS and the token endpoint."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InsecureTransportError, InvalidRequestError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.platform.replay import ReplayCache

from .access_tokens import AccessTokenGenerator
from .authorization_server import StsAuthorizationServer, TokenRequest
from .client_assertion import ASYMMETRIC_ALGORITHMS, PrivateKeyJwtAuthentication
from .clients import CLIENT_AUTH_METHOD, GRANT_TYPE, RegisteredClient
from .keys import AsymmetricKey, public_jwks

TOKEN_PATH = "/connect/token"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
MAX_TOKEN_REQUEST_BYTES = 64 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def create_app(
    issuer: str,
    clients: Mapping[str, RegisteredClient],
    signing_keys: Sequence[AsymmetricKey],
    token_lifetime_seconds: int,
) -> Starlette:
    """Signs with `signing_keys[0]`; publishes all of them in the JWKS."""
    token_endpoint = issuer + TOKEN_PATH
    server = StsAuthorizationServer(
        clients,
        AccessTokenGenerator(issuer, signing_keys[0], token_lifetime_seconds),
        # DOMAIN.md §1 names the issuer as the assertion audience; many clients use the
        # token endpoint URL (RFC 7523's suggestion), so both are accepted.
        PrivateKeyJwtAuthentication(audiences=[issuer, token_endpoint], replay_cache=ReplayCache()),
    )
    discovery = {
        "issuer": issuer,
        "token_endpoint": token_endpoint,
        "jwks_uri": issuer + JWKS_PATH,
        "grant_types_supported": [GRANT_TYPE],
        "token_endpoint_auth_methods_supported": [CLIENT_AUTH_METHOD],
        "token_endpoint_auth_signing_alg_values_supported": list(ASYMMETRIC_ALGORITHMS),
        "scopes_supported": server.scopes_supported,
    }
    jwks = public_jwks(signing_keys)

    async def openid_configuration(request: Request) -> Response:
        return JSONResponse(discovery)

    async def jwks_document(request: Request) -> Response:
        return JSONResponse(jwks)

    async def token(request: Request) -> Response:
        try:
            form = await _read_form(request)
            token_request = TokenRequest(request.method, str(request.url), request.headers, form)
            return server.create_token_response(token_request)
        except (InvalidRequestError, InsecureTransportError) as error:
            # Authlib refuses plain HTTP except on loopback; the dev STS reached by another
            # name needs AUTHLIB_INSECURE_TRANSPORT=1 (Authlib's own switch).
            return server.handle_error_response(None, error)

    return Starlette(
        routes=[
            Route(DISCOVERY_PATH, openid_configuration, methods=["GET"]),
            Route(JWKS_PATH, jwks_document, methods=["GET"]),
            Route(TOKEN_PATH, token, methods=["POST"]),
        ]
    )


async def _read_form(request: Request) -> dict[str, str]:
    """Parses the urlencoded body; RFC 6749 §3.2 forbids repeated parameters."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidRequestError(description=f"The token request must be {FORM_CONTENT_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_TOKEN_REQUEST_BYTES:
            raise InvalidRequestError(description="The token request is too large.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequestError(description="The token request body is not valid form data.") from None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise InvalidRequestError(description="A parameter is repeated in the token request.")
    return dict(pairs)
