"""ID tokens of the development STS (services/sts/id_tokens.py), without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.sts.client_registry import load_clients
from services.sts.config import StsConfig
from services.sts.id_tokens import IdTokenIssuer, at_hash, valid_nonce
from services.sts.keys import generate_signing_key, load_private_jwk_file
from services.sts.people import load_people
from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def test_at_hash_matches_the_openid_connect_core_example() -> None:
    # OpenID Connect Core 1.0, Appendix A.3 and A.4 (RS256).
    assert at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256") == "77QmUPtjPfzWtF2AnpK9RQ"


@pytest.mark.parametrize(
    ("nonce", "valid"),
    [
        ("n-0S6_WzA2Mj", True),
        ("x" * 255, True),
        ("x" * 256, False),
        ("", False),
        ("a b", False),
        ("a\u202eb", False),
        ("a\x00", False),
    ],
)
def test_a_nonce_is_bounded_printable_ascii(nonce: str, valid: bool) -> None:
    assert valid_nonce(nonce) is valid


def test_the_id_token_key_must_be_rs256() -> None:
    with pytest.raises(ValueError, match="RS256"):
        IdTokenIssuer("http://127.0.0.1:8090", generate_signing_key("es"), 600)


def issuer() -> IdTokenIssuer:
    return IdTokenIssuer("http://127.0.0.1:8090", load_private_jwk_file(StsConfig().id_token_key_path()), 600)


def test_patients_get_id_porten_claims() -> None:
    client = load_clients(SEEDS)["samhandling-web"]
    eskil = load_people(SEEDS, b"s" * 32).patients[people.ESKIL]
    claims = issuer().claims(client, eskil, scope="openid samhandling:patient", nonce=None, auth_time=90, now=100)
    assert claims.pop("jti")
    assert claims == {
        "iss": "http://127.0.0.1:8090",
        "sub": eskil.subject,
        "aud": "samhandling-web",
        "iat": 100,
        "exp": 700,
        "auth_time": 90,
        "acr": "idporten-loa-high",
        "amr": ["TestID"],
        "pid": people.ESKIL,
        "locale": "nb",
    }


def test_personnel_get_helseid_identity_claims_per_scope() -> None:
    client = load_clients(SEEDS)["demo-legevakt"]
    lars = load_people(SEEDS, b"s" * 32).personnel[people.LARS]
    bare = issuer().claims(client, lars, scope="openid", nonce="n", auth_time=90, now=100)
    assert bare == {
        "iss": "http://127.0.0.1:8090",
        "sub": lars.subject,
        "aud": "demo-legevakt",
        "iat": 100,
        "exp": 700,
        "nbf": 100,
        "auth_time": 90,
        "nonce": "n",
        "amr": ["pwd"],
        "idp": "testidp-oidc",
    }
    full = issuer().claims(
        client,
        lars,
        nonce=None,
        auth_time=90,
        now=100,
        scope="openid profile helseid://scopes/identity/pid helseid://scopes/identity/security_level "
        "helseid://scopes/identity/assurance_level helseid://scopes/hpr/hpr_number",
    )
    assert full["helseid://claims/identity/pid"] == people.LARS
    assert full["helseid://claims/identity/security_level"] == "4"
    assert full["helseid://claims/identity/assurance_level"] == "high"
    assert full["helseid://claims/hpr/hpr_number"] == lars.hpr_number
    assert full["name"] == lars.name


def test_identity_scopes_only_with_a_login_and_of_the_logins_kind() -> None:
    clients = load_clients(SEEDS)
    legevakt, web, ehr = clients["demo-legevakt"], clients["samhandling-web"], clients["demo-ehr"]
    assert legevakt.allows_scope("openid helseid://scopes/identity/pid", with_login=True)
    assert not legevakt.allows_scope("openid", with_login=False)
    assert web.allows_scope("openid profile samhandling:patient", with_login=True)
    assert not web.allows_scope("openid helseid://scopes/identity/pid", with_login=True)
    assert not ehr.allows_scope("openid", with_login=True)  # no login at all


def test_the_subject_is_keyed_so_it_does_not_give_away_the_person_number() -> None:
    """An unkeyed hash of an 11-digit number is reversed by trying them all; an ID token
    without the pid scope would then still name the person."""
    import base64
    import hashlib

    from services.sts.people import PeopleError

    lars = load_people(SEEDS, b"s" * 32).personnel[people.LARS]
    other_key = load_people(SEEDS, b"t" * 32).personnel[people.LARS]
    assert lars.subject == load_people(SEEDS, b"s" * 32).personnel[people.LARS].subject
    assert lars.subject != other_key.subject
    for prefix in (b"", b"samhandling-sts/subject/v1\x00", b"samhandling-sts/subject/v2\x00"):
        unkeyed = base64.urlsafe_b64encode(hashlib.sha256(prefix + lars.pid.encode()).digest()).rstrip(b"=").decode()
        assert lars.subject != unkeyed
    with pytest.raises(PeopleError):
        load_people(SEEDS, b"short")
