"""Authorization codes and refresh tokens: lifetimes, single use, reuse detection."""

from services.sts.authorization_codes import (
    CODE_LIFETIME_SECONDS,
    AuthorizationCode,
    AuthorizationCodes,
    new_code_expiry,
)
from services.sts.people import Person
from services.sts.refresh_tokens import SESSION_LIFETIME_SECONDS, RefreshGrant, RefreshTokens
from tests.fixtures import people

T0 = 1_800_000_000.0
PATIENT = Person(kind="patient", pid=people.ESKIL, name="Eskil Eksempelsen", birth_date="2008-10-22")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def code_record(client_id: str = "samhandling-web") -> AuthorizationCode:
    return AuthorizationCode(
        client_id=client_id,
        redirect_uri="http://127.0.0.1:8080/callback",
        scope="samhandling:patient",
        person=PATIENT,
        code_challenge="c" * 43,
        code_challenge_method="S256",
        attestation=None,
        expires_at=new_code_expiry(T0),
    )


def refresh_grant(family: str, expires_at: float = T0 + SESSION_LIFETIME_SECONDS) -> RefreshGrant:
    return RefreshGrant("samhandling-web", "samhandling:patient", PATIENT, None, None, family, expires_at)


def test_a_code_lives_sixty_seconds() -> None:
    clock = Clock()
    codes = AuthorizationCodes(on_reuse=lambda family: None, clock=clock)
    codes.save("abc", code_record())

    clock.now = T0 + CODE_LIFETIME_SECONDS - 1
    assert codes.find("abc", "samhandling-web") is not None
    clock.now = T0 + CODE_LIFETIME_SECONDS
    assert codes.find("abc", "samhandling-web") is None
    assert CODE_LIFETIME_SECONDS == 60


def test_a_code_is_found_only_by_its_own_client() -> None:
    codes = AuthorizationCodes(on_reuse=lambda family: None, clock=Clock())
    codes.save("abc", code_record())

    assert codes.find("abc", "demo-legevakt") is None
    assert codes.find("abd", "samhandling-web") is None


def test_a_redeemed_code_is_refused_and_its_reuse_revokes_the_family() -> None:
    revoked: list[str] = []
    codes = AuthorizationCodes(on_reuse=revoked.append, clock=Clock())
    codes.save("abc", code_record())
    record = codes.find("abc", "samhandling-web")
    assert record is not None

    codes.redeem(record, "family-1")

    assert codes.find("abc", "samhandling-web") is None
    assert revoked == ["family-1"]


def test_refresh_tokens_are_single_use_and_reuse_revokes_the_family() -> None:
    tokens = RefreshTokens(Clock())
    first = tokens.issue(refresh_grant("f"))
    grant = tokens.find(first)
    assert grant is not None
    tokens.spend(grant)
    second = tokens.issue(refresh_grant("f"))
    unrelated = tokens.issue(refresh_grant("g"))

    assert tokens.find(first) is None  # reuse ...
    assert tokens.find(second) is None  # ... revoked the whole family
    assert tokens.find(unrelated) is not None


def test_refresh_tokens_end_with_the_session() -> None:
    clock = Clock()
    tokens = RefreshTokens(clock)
    token = tokens.issue(refresh_grant("f"))

    clock.now = T0 + SESSION_LIFETIME_SECONDS

    assert tokens.find(token) is None
    assert tokens.find("never-issued") is None
