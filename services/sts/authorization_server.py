"""Authlib's authorization server wired for the STS: three grants, private_key_jwt, PKCE S256,
and ID tokens (OpenID Connect) on the authorization-code grant."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.responses import Response

from .access_tokens import AccessTokenIssuer
from .authorization_codes import AuthorizationCodes
from .client_assertion import PrivateKeyJwtAuthentication
from .client_registry import CLIENT_AUTH_METHOD, RegisteredClient
from .grants import AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant, S256CodeChallenge
from .id_tokens import IdTokenIssuer
from .refresh_tokens import RefreshTokens
from .trust_framework import Attestation


@dataclass(frozen=True)
class HttpRequest:
    """A request whose parameters Starlette has already read (Authlib's server is synchronous).

    `dpop_jkt` is the thumbprint of a DPoP proof the token endpoint has already verified.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    dpop_jkt: str | None = None


class StsOAuth2Request(OAuth2Request):
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(dict(request.params))
        self._form = request.params
        self.dpop_jkt = request.dpop_jkt
        self.assertion_claims: dict[str, Any] | None = None  # set by client authentication
        self.attestation: Attestation | None = None  # set by the grant

    @property
    def form(self) -> Mapping[str, str]:
        return self._form


class StsAuthorizationServer(AuthorizationServer):
    def __init__(
        self,
        clients: Mapping[str, RegisteredClient],
        tokens: AccessTokenIssuer,
        id_tokens: IdTokenIssuer,
        client_authentication: PrivateKeyJwtAuthentication,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            scopes_supported=sorted({s for c in clients.values() for s in c.requestable_scopes(with_login=True)})
        )
        self._clients = clients
        self._clock = clock
        self.tokens = tokens
        self.id_tokens = id_tokens
        self.refresh_tokens = RefreshTokens(clock)
        self.codes = AuthorizationCodes(on_reuse=self.refresh_tokens.revoke_family, clock=clock)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256CodeChallenge(required=True)])
        self.register_grant(RefreshTokenGrant)
        self.register_client_auth_method(CLIENT_AUTH_METHOD, client_authentication)

    def now(self) -> int:
        return int(self._clock())

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners; the base class raises NotImplementedError."""

    def create_oauth2_request(self, request: HttpRequest | StsOAuth2Request) -> StsOAuth2Request:
        return request if isinstance(request, StsOAuth2Request) else StsOAuth2Request(request)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if status == 302:
            return Response(status_code=302, headers={**dict(headers), "Cache-Control": "no-store"})
        return Response(content=json.dumps(body), status_code=status, headers=dict(headers))
