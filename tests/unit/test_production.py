"""Production mode refuses at start-up whatever is meant for development
(services/platform/production.py), naming every problem at once."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from joserfc.jwk import ECKey, OctKey
from opentelemetry.sdk.trace import TracerProvider

from gateway.main import create_gateway
from services.platform.production import check_backend_production, check_production, production_problems
from services.platform.settings import Settings, SettingsError

PINNED_VKEY = "samhandling.example.no/audit+0a1b2c3d+AQ" + "A" * 42 + "="


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "gateway-assertion.jwk.json"
    path.write_text(json.dumps(ECKey.generate_key("P-256", parameters={"kid": "gw-1"}).as_dict(private=True)))
    return path


@pytest.fixture
def production(key_file) -> Settings:
    """A production configuration with nothing wrong in it."""
    return Settings(
        env="production",
        token_issuer="https://helseid-sts.nhn.no",
        gateway_public_url="https://samhandling.example.no",
        gateway_http_public_url="https://samhandling.example.no",
        assertion_key_file=key_file,
        tls_ca_file=Path("/run/secrets/samhandling-ca.pem"),
        log_pseudonym_key="k" * 32,
        web_patient_client_key_file=key_file,
        web_personnel_client_key_file=key_file,
        web_dpop_key_file=key_file,
        audit_log_vkey=PINNED_VKEY,
    )


def problems(settings: Settings) -> str:
    return " | ".join(production_problems(settings))


def test_a_sound_production_configuration_starts(production):
    check_production(production)
    check_production(replace(production, token_issuer="https://helseid-sts.test.nhn.no"))


def test_development_mode_is_not_checked():
    check_production(Settings())


def test_the_development_defaults_are_refused_with_every_problem_at_once():
    with pytest.raises(SettingsError) as err:
        check_production(Settings(env="production"))
    message = str(err.value)
    for expected in (
        "token issuer 'http://127.0.0.1:8090' must be an https URL",
        "token issuer 'http://127.0.0.1:8090' is on a loopback host",
        "is not HelseID",
        "gateway public URL 'http://127.0.0.1:50050' must be an https URL",
        "refusing development key gateway-assertion.dev-only.jwk.json",
    ):
        assert expected in message


@pytest.mark.parametrize(
    "issuer",
    ["https://sts.example.org", "https://helseid-sts.nhn.no/", "https://helseid-sts.nhn.no.evil.example"],
)
def test_another_issuer_needs_explicit_permission(production, issuer):
    assert "is not HelseID" in problems(replace(production, token_issuer=issuer))
    assert problems(replace(production, token_issuer=issuer, custom_issuer_allowed=True)) == ""


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        ("http://sts.example.org", "must be an https URL"),
        ("https://localhost:8090", "loopback"),
        ("https://sts.localhost", "loopback"),
        ("https://127.0.0.2", "loopback"),
        ("https://[::1]:8090", "loopback"),
        ("https://0.0.0.0", "loopback"),
        ("https://sts.example.org?x=1", "query"),
    ],
)
def test_a_permitted_custom_issuer_still_may_not_be_the_dev_sts(production, issuer, expected):
    assert expected in problems(replace(production, token_issuer=issuer, custom_issuer_allowed=True))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://samhandling.example.no", "must be an https URL"),
        ("https://127.0.0.1:50050", "loopback"),
        ("https://samhandling.example.no/#x", "fragment"),
        ("https://", "names no host"),
    ],
)
def test_the_gateway_public_url_must_be_https_on_a_real_host(production, url, expected):
    assert expected in problems(replace(production, gateway_public_url=url))


def test_a_key_marked_dev_only_is_refused_wherever_it_lies(production, key_file):
    key_file.write_text(json.dumps({**json.loads(key_file.read_text()), "dev_only": True}))
    assert "refusing development key" in problems(production)


def test_a_key_kept_under_seeds_is_refused(production, key_file):
    assert "refusing development key" in problems(replace(production, seeds_dir=key_file.parent))


def test_a_missing_key_is_a_problem(production, tmp_path):
    assert "cannot read key file" in problems(replace(production, assertion_key_file=tmp_path / "absent.json"))


def test_the_gateway_refuses_to_start_on_development_settings():
    with pytest.raises(SettingsError, match="refusing to start in production mode"):
        create_gateway(Settings(env="production"), TracerProvider())


def test_a_backend_in_production_needs_the_gateways_public_key_named(tmp_path):
    production = replace(Settings(), env="production", tls_by_mesh=True, log_pseudonym_key="k" * 32)
    with pytest.raises(SettingsError, match="SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE"):
        check_backend_production(production)
    dev_key = production.seeds_dir / "keys" / "gateway-assertion.dev-only.jwk.json"
    with pytest.raises(SettingsError, match="development key"):
        check_backend_production(replace(production, assertion_public_key_file=dev_key))
    public = tmp_path / "gateway-assertion.public.jwk.json"
    key = json.loads(dev_key.read_text())
    public.write_text(json.dumps({k: key[k] for k in ("kty", "crv", "x", "y", "kid")}))
    check_backend_production(replace(production, assertion_public_key_file=public))
    check_backend_production(Settings())  # dev: nothing to check


def test_the_web_login_keys_must_be_named_and_not_development_keys(production):
    unnamed = problems(replace(production, web_patient_client_key_file=None, web_dpop_key_file=None))
    seeded = problems(
        replace(
            production, web_personnel_client_key_file=Path("seeds/keys/samhandling-ansatt.dev-only.jwk.json").resolve()
        )
    )

    assert "SAMHANDLING_WEB_PATIENT_CLIENT_KEY_FILE must name the web login's key" in unnamed
    assert "SAMHANDLING_WEB_DPOP_KEY_FILE must name the web login's key" in unnamed
    assert (
        "SAMHANDLING_WEB_PERSONNEL_CLIENT_KEY_FILE: refusing development key samhandling-ansatt.dev-only.jwk.json"
        in seeded
    )


def test_the_audit_log_verifier_key_must_be_pinned(production):
    assert "SAMHANDLING_AUDIT_LOG_VKEY must pin the audit log's verifier key" in problems(
        replace(production, audit_log_vkey=None)
    )
    assert "SAMHANDLING_AUDIT_LOG_VKEY" not in problems(replace(production, env="production"))


def test_an_idle_limit_above_the_maximum_is_refused(production):
    assert "must not exceed SAMHANDLING_WEB_SESSION_MAX_SECONDS" in problems(
        replace(production, web_session_idle_seconds=3600.0, web_session_max_seconds=1800.0)
    )


def test_a_symmetric_key_is_no_signing_key(production, key_file):
    # load_jwk promises an EC, RSA or OKP key pair (services/platform/keys.py); an oct key is refused.
    key_file.write_text(json.dumps(OctKey.generate_key(256, parameters={"kid": "gw-1"}).as_dict(private=True)))
    assert "holds no signing key pair" in problems(production)
