"""Authlib's authorization server wired for the STS: client credentials + private_key_jwt."""
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, InvalidScopeError, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from starlette.responses import Response

from .access_tokens import AccessTokenGenerator
from .client_assertion import PrivateKeyJwtAuthentication
from .clients import CLIENT_AUTH_METHOD, RegisteredClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenRequest:
    """A token request whose body Starlette has already read (Authlib's server is synchronous)."""

    method: str
    url: str
    headers: Mapping[str, str]
    form: Mapping[str, str]


class FormOAuth2Request(OAuth2Request):
    def __init__(self, request: TokenRequest) -> None:
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self.payload = BasicOAuth2Payload(dict(request.form))
        self._form = request.form

    @property
    def form(self) -> Mapping[str, str]:
        return self._form


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = [CLIENT_AUTH_METHOD]

    def validate_requested_scope(self) -> None:
        # Checked against the client's own scopes so the error says what was refused.
        client: RegisteredClient = self.request.client
        requested = self.request.payload.scope
        if not client.allows_scope(requested):
            refused = sorted(set(requested.split()) - set(client.scopes))
            raise InvalidScopeError(description=f"Scope not allowed for this client: {' '.join(refused)}")

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # Replaces Authlib's version, which debug-logs the whole token.
        token = self.generate_token(scope=self.request.payload.scope, include_refresh_token=False)
        log.info("issued access token to client %s for scope %r", self.client.client_id, token.get("scope"))
        return 200, token, self.TOKEN_RESPONSE_HEADER


class StsAuthorizationServer(AuthorizationServer):
    def __init__(
        self,
        clients: Mapping[str, RegisteredClient],
        token_generator: AccessTokenGenerator,
        client_authentication: PrivateKeyJwtAuthentication,
    ) -> None:
        super().__init__(scopes_supported=sorted({s for c in clients.values() for s in c.scopes}))
        self._clients = clients
        self.register_grant(ClientCredentialsGrant)
        self.register_client_auth_method(CLIENT_AUTH_METHOD, client_authentication)
        self.register_token_generator("default", token_generator)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self._clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Nothing to store: access tokens are self-contained JWTs and there are no refresh tokens."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No listeners; the base class raises NotImplementedError."""

    def create_oauth2_request(self, request: TokenRequest) -> OAuth2Request:
        return FormOAuth2Request(request)

    def handle_response(self, status: int, body: dict[str, Any], headers: list[tuple[str, str]]) -> Response:
        # Token and error bodies are always JSON objects here: no authorization endpoint, no redirects.
        return Response(content=json.dumps(body), status_code=status, headers=dict(headers))
