"""The STS's HTTP surface: discovery (OpenID Connect Discovery, and the same document as RFC 8414
authorization-server metadata), JWKS, the authorization endpoint (login) and the token endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from authlib.oauth2.rfc6749 import OAuth2Error
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.platform import helseid
from services.platform.dpop import ALGORITHMS as DPOP_ALGORITHMS
from services.platform.dpop import DpopVerifier
from services.platform.helseid import DEFAULT_AUDIENCE, SIGNING_ALGORITHMS
from services.platform.replay import ReplayCache

from .access_tokens import AccessTokenIssuer
from .authorization_server import HttpRequest, StsAuthorizationServer
from .client_assertion import PrivateKeyJwtAuthentication
from .client_registry import CLIENT_AUTH_METHOD, GRANT_TYPES, RegisteredClient
from .forms import read_form
from .id_tokens import ASSURANCE_LEVEL, IdTokenIssuer
from .key_store import SigningKeys
from .keys import AsymmetricKey, public_jwks
from .login import LoginEndpoint
from .people import People
from .token_dpop import DpopNonces, proof_key_thumbprint
from .trust_framework import DETAILS_TYPE

TOKEN_PATH = "/connect/token"
AUTHORIZE_PATH = "/connect/authorize"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"
ID_TOKEN_CLAIMS = (
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "nonce",
    "at_hash",
    "acr",
    "amr",
    "idp",
    "jti",
    "pid",
    "locale",
    "name",
    helseid.PID,
    helseid.SECURITY_LEVEL,
    ASSURANCE_LEVEL,
    helseid.HPR_NUMBER,
)


def create_app(
    issuer: str,
    clients: Mapping[str, RegisteredClient],
    people: People,
    signing_keys: SigningKeys,
    *,
    id_token_key: AsymmetricKey,
    token_lifetime_seconds: int,
    audience: str = DEFAULT_AUDIENCE,
    log_pseudonym_key: bytes,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    token_endpoint = issuer + TOKEN_PATH
    authorization_endpoint = issuer + AUTHORIZE_PATH
    server = StsAuthorizationServer(
        clients,
        AccessTokenIssuer(issuer, audience, signing_keys, token_lifetime_seconds, clock),
        IdTokenIssuer(issuer, id_token_key, token_lifetime_seconds, clock),
        # docs/architecture.md "The request path", step 1 names the issuer as the assertion audience; many clients use the
        # token endpoint URL (RFC 7523's suggestion), so both are accepted.
        PrivateKeyJwtAuthentication(
            audiences=[issuer, token_endpoint], replay_cache=ReplayCache(clock=clock), clock=clock
        ),
        clock,
    )
    login = LoginEndpoint(server, people, authorization_endpoint, log_pseudonym_key, clock)
    dpop_verifier = DpopVerifier(ReplayCache(clock=clock), clock=clock)
    nonces = DpopNonces(clock=clock)
    discovery = {
        "issuer": issuer,
        "authorization_endpoint": authorization_endpoint,
        "token_endpoint": token_endpoint,
        "jwks_uri": issuer + JWKS_PATH,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        # One subject per person for every client (HelseID's; ID-porten's are pairwise).
        "subject_types_supported": ["public"],
        "claims_supported": list(ID_TOKEN_CLAIMS),
        "grant_types_supported": list(GRANT_TYPES),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [CLIENT_AUTH_METHOD],
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "dpop_signing_alg_values_supported": sorted(DPOP_ALGORITHMS),
        "authorization_details_types_supported": [DETAILS_TYPE],
        "scopes_supported": server.scopes_supported,
        "id_token_signing_alg_values_supported": [id_token_key.get("alg")],
    }

    async def openid_configuration(request: Request) -> Response:
        return JSONResponse(discovery)

    async def jwks_document(request: Request) -> Response:
        # Built per request: a rotation shows up here without a restart.
        return JSONResponse(public_jwks([*signing_keys.published(), id_token_key]))

    async def token(request: Request) -> Response:
        try:
            form = await read_form(request)
            # Before client authentication and the grant: a nonce challenge must not spend
            # the client assertion, the code or the refresh token.
            jkt = proof_key_thumbprint(
                request.headers.getlist("dpop"), verifier=dpop_verifier, nonces=nonces, token_endpoint=token_endpoint
            )
            token_request = HttpRequest(request.method, str(request.url), request.headers, form, jkt)
            response = server.create_token_response(token_request)
        except OAuth2Error as error:
            # Refusals before Authlib's own handling: the form, the DPoP proof, and plain HTTP
            # (Authlib allows it on loopback only; the dev STS reached by another name needs
            # AUTHLIB_INSECURE_TRANSPORT=1, Authlib's own switch).
            response = server.handle_error_response(None, error)
        # RFC 9449 §8: the nonce to use next rides on every token response.
        response.headers["DPoP-Nonce"] = nonces.current()
        return response

    return Starlette(
        routes=[
            Route(DISCOVERY_PATH, openid_configuration, methods=["GET"]),
            Route(OAUTH_METADATA_PATH, openid_configuration, methods=["GET"]),
            Route(JWKS_PATH, jwks_document, methods=["GET"]),
            Route(AUTHORIZE_PATH, login.authorize, methods=["GET"]),
            Route(AUTHORIZE_PATH, login.login, methods=["POST"]),
            Route(TOKEN_PATH, token, methods=["POST"]),
        ]
    )
