"""Server side of `private_key_jwt` (RFC 7523 §2.2 as profiled by HelseID, docs/architecture.md "The request path", step 1).

Authlib's `rfc7523.PrivateKeyJWT` is the *client* half (it signs assertions for an HTTP
client); the server half is `JWTBearerClientAssertion`, registered here under the method name
`private_key_jwt`. It checks signature, iss = sub, aud, exp and the jti; this subclass adds
what HelseID demands on top: an asymmetric alg allow-list, a required `iat`, a lifetime of at
most 60 s, a leeway of a few seconds instead of Authlib's 60, and a jti replay cache. The claim
checks run on the STS's clock, so tests can move time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jws, jwt
from joserfc.errors import JoseError

from services.platform.helseid import SIGNING_ALGORITHMS
from services.platform.numeric_date import LifetimeTooLong, NumericDateError, token_times
from services.platform.replay import ReplayCache

from .client_registry import CLIENT_AUTH_METHOD, RegisteredClient
from .keys import AsymmetricKey

MAX_ASSERTION_LIFETIME_SECONDS = 60
CLOCK_SKEW_SECONDS = 5


class PrivateKeyJwtAuthentication(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = CLIENT_AUTH_METHOD

    def __init__(
        self,
        audiences: Sequence[str],
        replay_cache: ReplayCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(validate_jti=True, leeway=CLOCK_SKEW_SECONDS)
        self._audiences = list(audiences)
        self._replay_cache = replay_cache
        self._clock = clock

    def __call__(self, query_client: Callable[[str], RegisteredClient | None], request: Any) -> RegisteredClient | None:
        client: RegisteredClient | None = super().__call__(query_client, request)
        if client is None:
            return None
        # RFC 7521 §4.2: a client_id parameter next to the assertion must name the same client.
        form_client_id = request.form.get("client_id")
        if form_client_id and form_client_id != client.client_id:
            raise InvalidClientError(description="client_id does not match the client assertion.")
        # The grants read what the client attested (authorization_details) from the claims.
        # The base class has just verified this very assertion, so its payload can be read as is.
        request.assertion_claims = json.loads(jws.extract_compact(request.form["client_assertion"].encode()).payload)
        return client

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: RegisteredClient) -> AsymmetricKey:
        return client.public_key

    def process_assertion_claims(self, assertion: str, resolve_key: AsymmetricKey) -> dict[str, Any]:
        # Authlib decodes with joserfc's default algorithm set; pin it to asymmetric ones so
        # "none" and HMAC can never authenticate a client.
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=SIGNING_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClientError(description=f"Client assertion refused: {exc.error}") from None
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: jwt.Claims) -> None:
        # Lifetime rules run before the base checks, so a refused assertion never burns its jti.
        now = self._clock()
        try:
            iat, _, exp = token_times(claims, max_lifetime=MAX_ASSERTION_LIFETIME_SECONDS, now=now)
        except LifetimeTooLong:
            iat = exp = None
        except NumericDateError as exc:
            raise InvalidClientError(
                description=f"Client assertion needs NumericDate 'iat' and 'exp': {exc}."
            ) from None
        latest_exp = now + MAX_ASSERTION_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS
        if iat is None or exp is None or exp > latest_exp:
            raise InvalidClientError(
                description=f"Client assertion 'exp' is more than {MAX_ASSERTION_LIFETIME_SECONDS} s ahead."
            )
        # The base class's checks, redone on the STS's clock (the base reads time.time()).
        registry = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=self.leeway,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description=exc.description) from None
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="Issuer and Subject MUST match.")
        if not self.validate_jti(claims, claims.get("jti")):
            raise InvalidClientError(description="JWT ID is missing or used before.")

    def validate_jti(self, claims: jwt.Claims, jti: Any) -> bool:
        if not isinstance(jti, str) or not jti:
            return False
        # Remembered until the assertion could no longer pass the exp check anyway.
        return self._replay_cache.claim(f"{claims['sub']}\x00{jti}", claims["exp"] + CLOCK_SKEW_SECONDS)
