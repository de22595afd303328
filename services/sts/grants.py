"""The three grants, on Authlib's: client_credentials (systems), authorization_code with
PKCE S256 (people), refresh_token (rotated). Client authentication is private_key_jwt only.

Every grant first authenticates the client, then enforces the client's registration
(grant types via Authlib, DPoP binding here) and reads what the client attested in its
assertion; only then is a code or refresh token consumed, so a refused request never
spends one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, InvalidScopeError, OAuth2Error, grants
from authlib.oauth2.rfc6749.grants.authorization_code import validate_code_authorization_request
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.errors import LoginRequiredError

from .access_tokens import Authorization
from .authorization_codes import AuthorizationCode, new_code_expiry
from .client_registry import CLIENT_AUTH_METHOD, CLIENT_CREDENTIALS, REFRESH_TOKEN, RegisteredClient, scope_conflict
from .errors import InvalidAuthorizationDetailsError, InvalidDpopProofError, error_description
from .id_tokens import MAX_NONCE_LENGTH, valid_nonce, wants_id_token
from .people import Person
from .refresh_tokens import SESSION_LIFETIME_SECONDS, RefreshGrant
from .trust_framework import Attestation, TrustFrameworkError, parse_authorization_details

if TYPE_CHECKING:
    from .authorization_server import StsAuthorizationServer, StsOAuth2Request

log = logging.getLogger(__name__)
TokenResponse = tuple[int, dict[str, Any], list[tuple[str, str]]]


class _StsGrant:
    """What every STS grant shares. (Authlib's own create_token_response methods are
    replaced: they debug-log the whole token.)"""

    TOKEN_ENDPOINT_AUTH_METHODS = [CLIENT_AUTH_METHOD]
    server: StsAuthorizationServer
    request: StsOAuth2Request

    def authenticate_token_endpoint_client(self) -> RegisteredClient:
        # A mixin: the authlib grant class it is mixed into defines this (and TOKEN_RESPONSE_HEADER).
        client: RegisteredClient = super().authenticate_token_endpoint_client()  # type: ignore[misc]
        if client.dpop_bound and self.request.dpop_jkt is None:
            raise InvalidDpopProofError(description=f"Client {client.client_id} must send a DPoP proof.")
        claims = self.request.assertion_claims or {}
        self.request.attestation = _attestation(client, claims.get("authorization_details"), self.server.now())
        return client

    def validate_requested_scope(self) -> None:
        # Checked against the client's own scopes so the error says what was refused.
        # OpenID Connect scopes only with a person's login, never for the client itself.
        client: RegisteredClient = self.request.client
        requested = self.request.payload.scope
        with_login = self.GRANT_TYPE != CLIENT_CREDENTIALS  # type: ignore[attr-defined]
        if not client.allows_scope(requested, with_login=with_login):
            refused = sorted(set(requested.split()) - set(client.requestable_scopes(with_login=with_login)))
            raise InvalidScopeError(description=f"Scope not allowed for this client: {' '.join(refused)}")
        # What would be granted (nothing asked: all the client's scopes) must make one kind of token.
        if problem := scope_conflict(client.get_allowed_scope(requested)):
            raise InvalidScopeError(description=problem)

    def _respond(self, client: RegisteredClient, token: dict[str, Any], person: Person | None) -> TokenResponse:
        log.info(
            "issued access token to client %s (%s, for %s), scope %r",
            client.client_id,
            token["token_type"],
            person.kind if person else "itself",
            token["scope"],
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER  # type: ignore[attr-defined]  # the authlib grant's (a mixin)


class ClientCredentialsGrant(_StsGrant, grants.ClientCredentialsGrant):
    def create_token_response(self) -> TokenResponse:
        client: RegisteredClient = self.request.client
        scope = client.get_allowed_scope(self.request.payload.scope)
        authorization = Authorization(attestation=self.request.attestation, jkt=self.request.dpop_jkt)
        return self._respond(client, self.server.tokens.issue(client, scope, authorization), None)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only: a missing challenge or method, or `plain`, is refused."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: grants.AuthorizationCodeGrant, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge with code_challenge_method=S256.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class AuthorizationCodeGrant(_StsGrant, grants.AuthorizationCodeGrant):
    def validate_authorization_request(self) -> str:
        redirect_uri: str = validate_code_authorization_request(self)
        # From here on errors go back to the (now validated) redirect_uri.
        try:
            if not self.request.payload.state:
                raise InvalidRequestError("state is required.")
            nonce = self.request.payload.data.get("nonce")
            if nonce is not None and not valid_nonce(nonce):
                raise InvalidRequestError(f"nonce must be 1 to {MAX_NONCE_LENGTH} printable ASCII characters.")
            if "none" in (self.request.payload.data.get("prompt") or "").split():
                # OIDC Core §3.1.2.1: the STS keeps no sessions, so every login shows its page.
                raise LoginRequiredError()
            # Attested at login: the login page re-validates when the person is chosen.
            self.request.attestation = _attestation(
                self.request.client, self.request.payload.data.get("authorization_details"), self.server.now()
            )
        except OAuth2Error as error:
            error.redirect_uri = redirect_uri
            raise
        return redirect_uri

    def save_authorization_code(self, code: str, request: StsOAuth2Request) -> None:
        data = request.payload.data
        self.server.codes.save(
            code,
            AuthorizationCode(
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                person=request.user,
                code_challenge=data["code_challenge"],
                code_challenge_method=data["code_challenge_method"],
                attestation=request.attestation,
                expires_at=new_code_expiry(self.server.now()),
                nonce=data.get("nonce"),
                auth_time=self.server.now(),
            ),
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> AuthorizationCode | None:
        return self.server.codes.find(code, client.client_id)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> Person:
        return authorization_code.person

    def create_token_response(self) -> TokenResponse:
        client: RegisteredClient = self.request.client
        code: AuthorizationCode = self.request.authorization_code
        # An attestation sent with this token request supersedes the one from the login.
        attestation = self.request.attestation or code.attestation
        authorization = Authorization(person=code.person, attestation=attestation, jkt=self.request.dpop_jkt)
        token = self.server.tokens.issue(client, code.scope, authorization)
        if wants_id_token(code.scope):
            token["id_token"] = self.server.id_tokens.issue(
                client,
                code.person,
                scope=code.scope,
                nonce=code.nonce,
                auth_time=code.auth_time,
                access_token=token["access_token"],
            )
        family = None
        if client.check_grant_type(REFRESH_TOKEN):
            family = self.server.refresh_tokens.new_family()
            grant = RefreshGrant(
                client_id=client.client_id,
                scope=code.scope,
                person=code.person,
                attestation=attestation,
                jkt=self.request.dpop_jkt,
                family=family,
                expires_at=self.server.now() + SESSION_LIFETIME_SECONDS,
            )
            token["refresh_token"] = self.server.refresh_tokens.issue(grant)
        self.server.codes.redeem(code, family)
        return self._respond(client, token, code.person)


class RefreshTokenGrant(_StsGrant, grants.RefreshTokenGrant):
    def authenticate_refresh_token(self, refresh_token: str) -> RefreshGrant:
        grant = self.server.refresh_tokens.find(refresh_token)
        if grant is None:
            raise InvalidGrantError(description="The refresh token is unknown, expired, revoked or already used.")
        return grant

    def authenticate_user(self, refresh_token: RefreshGrant) -> Person:
        return refresh_token.person

    def create_token_response(self) -> TokenResponse:
        client: RegisteredClient = self.request.client
        old: RefreshGrant = self.request.refresh_token
        jkt = self.request.dpop_jkt
        if old.jkt is not None and jkt != old.jkt:
            # Checked before the token is spent, so a thief without the key cannot burn it.
            raise InvalidGrantError(description="The refresh token is bound to another DPoP key.")
        scope = self.request.payload.scope or old.scope
        token_expires = self.server.now() + self.server.tokens.lifetime_seconds
        attestation = self.request.attestation
        if attestation is None and old.attestation is not None and old.attestation.valid_through(token_expires):
            attestation = old.attestation
        authorization = Authorization(person=old.person, attestation=attestation, jkt=jkt)
        token = self.server.tokens.issue(client, scope, authorization)
        self.server.refresh_tokens.spend(old)
        token["refresh_token"] = self.server.refresh_tokens.issue(
            RefreshGrant(
                client_id=client.client_id,
                scope=old.scope,
                person=old.person,
                attestation=attestation,
                jkt=old.jkt,
                family=old.family,
                expires_at=old.expires_at,
            )
        )
        return self._respond(client, token, old.person)


def _attestation(client: RegisteredClient, details: Any, now: int) -> Attestation | None:
    try:
        parameters = parse_authorization_details(details)
    except TrustFrameworkError as exc:
        raise InvalidAuthorizationDetailsError(description=error_description(str(exc))) from None
    if parameters is None:
        return None
    if client.login == "patient":
        # A patient acts for themselves: there is no care situation to attest.
        raise InvalidAuthorizationDetailsError(description="A patient client attests no trust-framework parameters.")
    return Attestation(parameters, attested_at=now)
