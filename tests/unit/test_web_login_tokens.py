"""The login's checks of the ID token and the access token (gateway/web/tokens.py): each of
signature, issuer, audience, expiry, nonce, at_hash, subject and the DPoP binding refuses
with 401 WEB_LOGIN_FAILED. Tokens are signed here with generated keys; the JWKS cache and
the access-token validator are stand-ins (pure unit test; the real ones run in
tests/integration/test_web_login.py)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.web.tokens import LoginTokens, at_hash
from services.platform.errors import ServiceError, unauthenticated
from tests.fixtures import people

ISSUER = "https://sts.example.test"
CLIENT = "samhandling-portal"
NOW = 1_800_000_000
ACCESS_TOKEN = "the-access-token"
NONCE = "nonce-1"
JKT = "jkt-of-the-web-key"
SIGNING = RSAKey.generate_key(2048, parameters={"kid": "id-1", "alg": "RS256"})
STRANGER = RSAKey.generate_key(2048, parameters={"kid": "id-1", "alg": "RS256"})


class Keys:
    async def key(self, kid: str) -> Any:
        return SIGNING if kid == "id-1" else None


class AccessTokens:
    def __init__(self, claims: dict[str, Any] | None = None, refusal: ServiceError | None = None) -> None:
        self.claims = claims or {"sub": "sub-1", "exp": NOW + 600, "scope": "samhandling:patient", "cnf": {"jkt": JKT}}
        self.refusal = refusal

    async def validate(self, token: str) -> dict[str, Any]:
        if self.refusal:
            raise self.refusal
        return self.claims


def id_token(key: Any = SIGNING, kid: str = "id-1", **changes: Any) -> str:
    claims = {
        "iss": ISSUER,
        "sub": "sub-1",
        "aud": CLIENT,
        "iat": NOW,
        "exp": NOW + 600,
        "nonce": NONCE,
        "at_hash": at_hash(ACCESS_TOKEN, "RS256"),
        "pid": people.ESKIL,
        "name": "Eskil Eksempelsen",
    }
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": kid}, {k: v for k, v in claims.items() if v is not None}, key)


async def check(token: str | None, access: AccessTokens | None = None) -> Any:
    tokens = LoginTokens(Keys(), access or AccessTokens(), ISSUER, clock=lambda: NOW)  # type: ignore[arg-type]
    return await tokens.check(id_token=token, access_token=ACCESS_TOKEN, client_id=CLIENT, nonce=NONCE, dpop_jkt=JKT)


async def test_a_sound_login_names_the_person() -> None:
    person = await check(id_token())

    assert (person.subject, person.person_pid, person.person_name) == ("sub-1", people.ESKIL, "Eskil Eksempelsen")
    assert person.scopes == {"samhandling:patient"} and person.access_expires_at == NOW + 600


@pytest.mark.parametrize(
    ("token", "access"),
    [
        pytest.param(None, None, id="no-id-token"),
        pytest.param(id_token(key=STRANGER), None, id="signed-by-another-key"),
        pytest.param(id_token(kid="unknown"), None, id="unknown-key"),
        pytest.param(id_token(iss="https://evil.example"), None, id="another-issuer"),
        pytest.param(id_token(aud="samhandling-ansatt"), None, id="another-client"),
        pytest.param(id_token(exp=NOW - 61), None, id="expired"),
        pytest.param(id_token(iat=NOW + 61), None, id="issued-in-the-future"),
        pytest.param(id_token(nonce="another-login"), None, id="another-nonce"),
        pytest.param(id_token(nonce=None), None, id="no-nonce"),
        pytest.param(id_token(at_hash=at_hash("another-token", "RS256")), None, id="another-access-token"),
        pytest.param(id_token(sub="sub-2"), None, id="another-subject"),
        pytest.param(id_token(pid=None), None, id="no-person-number"),
        pytest.param(id_token(), AccessTokens(refusal=unauthenticated("TOKEN_EXPIRED", "x")), id="access-refused"),
        pytest.param(
            id_token(),
            AccessTokens({"sub": "sub-1", "exp": NOW + 600, "cnf": {"jkt": "other"}}),
            id="bound-to-another-key",
        ),
        pytest.param(id_token(), AccessTokens({"sub": "sub-1", "exp": NOW + 600}), id="not-bound"),
    ],
)
async def test_every_check_refuses_the_login(token: str | None, access: AccessTokens | None) -> None:
    with pytest.raises(ServiceError) as refused:
        await check(token, access)

    assert (refused.value.code, refused.value.reason) == (grpc.StatusCode.UNAUTHENTICATED, "WEB_LOGIN_FAILED")
    assert ACCESS_TOKEN not in refused.value.message
