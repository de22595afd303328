import json
from pathlib import Path
from typing import Any

import pytest

from gateway import oauth_scopes
from services.cli.token import Identity, _client
from services.platform.keys import load_jwk
from services.platform.settings import Settings, SettingsError
from services.sts.client_registry import (
    AUDIT_SCOPE,
    ClientRegistryError,
    load_client_private_jwk,
    load_clients,
    scope_conflict,
)
from services.sts.keys import import_private_jwk
from tests.fixtures import people

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
S = "nhn:samhandling/"


def test_seeded_clients_match_the_shared_decisions() -> None:
    clients = load_clients(SEEDS)

    assert {c: (v.orgnr_parent, v.orgnr_child, v.default_purpose_of_use) for c, v in clients.items()} == {
        "demo-ehr": ("910000012", "910000020", "TREAT"),
        "demo-auditor": ("910000012", "910000020", None),
        "demo-ehr-baerum": ("910000047", "910000063", "TREAT"),
        "demo-hospital": ("910000071", "910000098", "ETREAT"),
        "demo-legevakt": ("910000012", "910000039", None),
        "samhandling-web": (None, None, None),
        "samhandling-portal": (None, None, None),
        "samhandling-ansatt": (None, None, None),
    }
    assert set(clients["demo-hospital"].scopes) == {
        S + s
        for s in ("capacity.read", "capacity.report", "alerts", "summary.read", "summary.write", "escalation.inbox")
    }
    for system in ("demo-ehr", "demo-auditor", "demo-ehr-baerum", "demo-hospital"):
        assert clients[system].grant_types == ("client_credentials",) and not clients[system].dpop_bound


def test_the_login_clients() -> None:
    clients = load_clients(SEEDS)
    legevakt, web = clients["demo-legevakt"], clients["samhandling-web"]

    assert legevakt.grant_types == ("client_credentials", "authorization_code", "refresh_token")
    assert legevakt.dpop_bound and legevakt.login == "personnel"
    assert legevakt.scopes == (S + "summary.read", S + "summary.write", S + "capacity.read", S + "escalation.inbox")
    assert legevakt.redirect_uris == ("http://127.0.0.1:8765/callback",)
    assert web.grant_types == ("authorization_code", "refresh_token")
    assert not web.dpop_bound and web.login == "patient" and web.scopes == ("samhandling:patient",)
    assert web.redirect_uris == ("http://127.0.0.1:8080/callback",)


def test_the_web_pages_clients_come_last_and_are_dpop_bound() -> None:
    clients = load_clients(SEEDS)
    portal, ansatt = clients["samhandling-portal"], clients["samhandling-ansatt"]
    pages = ("http://127.0.0.1:8080/innlogging/ferdig", "http://localhost:8080/innlogging/ferdig")

    # Appended: the CLI takes the first client of a login kind (next test).
    assert list(clients)[-2:] == ["samhandling-portal", "samhandling-ansatt"]
    assert portal.login == "patient" and portal.scopes == ("samhandling:patient",) and not portal.multi_tenant
    assert (
        ansatt.login == "personnel"
        and ansatt.multi_tenant
        and (ansatt.orgnr_parent, ansatt.orgnr_child) == (None, None)
    )
    # The escalation inbox (issue 17): the inbox, and opening an escalation as a read of vital signs.
    assert ansatt.scopes == (S + "audit.read", S + "capacity.read", S + "escalation.inbox", S + "summary.read")
    for client in (portal, ansatt):
        assert client.grant_types == ("authorization_code", "refresh_token") and client.dpop_bound
        assert client.redirect_uris == pages
    assert not any(c.multi_tenant for c in clients.values() if c is not ansatt)


def test_the_clis_default_login_clients_are_unchanged() -> None:
    settings = Settings(seeds_dir=SEEDS)

    assert _client(settings, Identity(user=people.LARS)).client_id == "demo-legevakt"
    assert _client(settings, Identity(patient=people.ESKIL)).client_id == "samhandling-web"


@pytest.mark.parametrize("name", ["samhandling-portal", "samhandling-ansatt", "samhandling-web-dpop"])
def test_the_web_pages_dev_keys_are_refused_in_production(tmp_path: Path, name: str) -> None:
    path = SEEDS / "keys" / f"{name}.dev-only.jwk.json"
    elsewhere = tmp_path / "key.json"
    elsewhere.write_text(path.read_text())
    production = Settings(env="production", seeds_dir=SEEDS)

    assert json.loads(path.read_text())["dev_only"] is True
    assert load_jwk(path, Settings(seeds_dir=SEEDS)).as_dict(private=False)["crv"] == "P-256"
    for where in (path, elsewhere):  # refused by its location and by its dev_only member
        with pytest.raises(SettingsError, match="refusing development key"):
            load_jwk(where, production)


def test_the_audit_scope_is_granted_alone() -> None:
    assert AUDIT_SCOPE == oauth_scopes.AUDIT_READ
    assert scope_conflict(f"openid profile {AUDIT_SCOPE}") is None
    assert scope_conflict(f"openid {S}capacity.read {S}summary.read") is None
    assert scope_conflict("") is None
    for mixed in (
        f"{AUDIT_SCOPE} {S}capacity.read",
        f"openid {S}summary.read {AUDIT_SCOPE}",
        f"{AUDIT_SCOPE} samhandling:patient",
    ):
        assert scope_conflict(mixed) is not None


def test_a_loopback_redirect_uri_matches_on_any_port_and_nothing_else_does() -> None:
    clients = load_clients(SEEDS)
    web, ansatt = clients["samhandling-web"], clients["samhandling-ansatt"]

    for port in ("", ":1", ":8080", ":41234", ":65535"):
        assert web.check_redirect_uri(f"http://127.0.0.1{port}/callback")
        assert ansatt.check_redirect_uri(f"http://localhost{port}/innlogging/ferdig")
    for refused in (
        "http://127.0.0.1:41234/callback/evil",  # the path stays exact
        "http://127.0.0.1:41234/callback/",
        "http://127.0.0.1:41234/Callback",
        "http://127.0.0.1:41234/callback?x=1",
        "http://127.0.0.1:41234/callback#x",
        "https://127.0.0.1:41234/callback",  # another scheme
        "http://localhost:41234/callback",  # registered for 127.0.0.1 only
        "http://127.0.0.2:41234/callback",
        "http://127.0.0.1.evil.example:41234/callback",
        "http://evil@127.0.0.1:41234/callback",  # user info
        "http://127.0.0.1:41234@evil.example/callback",
        "http://127.0.0.1:/callback",  # an empty port
        "http://127.0.0.1:08080/callback",  # a port not in its plain form
        "http://127.0.0.1:65536/callback",
        "http://127.0.0.1:x/callback",
    ):
        assert not web.check_redirect_uri(refused), refused


def test_a_registered_redirect_uri_off_loopback_matches_exactly(tmp_path: Path) -> None:
    entry = {
        **json.loads((SEEDS / "clients.json").read_text())["clients"][-3],
        "redirect_uris": ["https://web.example/cb"],
    }
    (tmp_path / "clients.json").write_text(json.dumps({"clients": [entry]}))
    (tmp_path / "keys").symlink_to(SEEDS / "keys")
    client = load_clients(tmp_path)[entry["client_id"]]

    assert client.check_redirect_uri("https://web.example/cb")
    assert not client.check_redirect_uri("https://web.example:8443/cb")


def test_redirect_uris_match_exactly_and_response_type_follows_the_grants() -> None:
    clients = load_clients(SEEDS)
    web = clients["samhandling-web"]

    assert web.check_redirect_uri("http://127.0.0.1:8080/callback")
    for near_miss in (
        "http://127.0.0.1:8080/callback/",
        "http://127.0.0.1:8080/callback?x=1",
        "http://127.0.0.1:8080/",
    ):
        assert not web.check_redirect_uri(near_miss)
    assert web.get_default_redirect_uri() is None
    assert web.check_response_type("code") and not web.check_response_type("token")
    assert not clients["demo-ehr"].check_response_type("code")
    assert web.check_grant_type("refresh_token") and not web.check_grant_type("client_credentials")


@pytest.mark.parametrize(
    "client_id",
    [
        "demo-ehr",
        "demo-auditor",
        "demo-ehr-baerum",
        "demo-hospital",
        "demo-legevakt",
        "samhandling-web",
        "samhandling-portal",
        "samhandling-ansatt",
    ],
)
def test_registered_public_key_is_the_public_half_of_the_dev_key_file(client_id: str) -> None:
    client = load_clients(SEEDS)[client_id]
    private = load_client_private_jwk(client)

    assert private["dev_only"] is True and private["kid"] == client_id
    assert import_private_jwk(private).as_dict(private=False) == client.public_key.as_dict(private=False)


def test_scope_rules() -> None:
    client = load_clients(SEEDS)["demo-ehr-baerum"]

    assert client.get_allowed_scope(None) == f"{S}summary.read {S}capacity.read {S}escalation.inbox"
    assert client.get_allowed_scope(f"{S}capacity.read {S}capacity.read") == f"{S}capacity.read"
    assert client.allows_scope(f"{S}capacity.read")
    assert not client.allows_scope(f"{S}capacity.read {S}summary.write")
    assert client.check_endpoint_auth_method("private_key_jwt", "token")
    assert not client.check_endpoint_auth_method("client_secret_post", "token")
    assert not client.check_grant_type("password")


def _write_clients(tmp_path: Path, change: dict[str, Any]) -> Path:
    entries = json.loads((SEEDS / "clients.json").read_text())["clients"][:1]
    entries[0].update(change)
    (tmp_path / "clients.json").write_text(json.dumps({"clients": entries}))
    return tmp_path


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            {"public_jwk": json.loads((SEEDS / "keys/demo-ehr.dev-only.jwk.json").read_text())},
            id="private-key-as-public",
        ),
        pytest.param({"orgnr_child": "910000021"}, id="bad-org-check-digit"),
        pytest.param({"scopes": []}, id="no-scopes"),
        pytest.param({"default_purpose_of_use": "SHOPPING"}, id="unknown-purpose"),
        pytest.param({"client_name": ""}, id="empty-name"),
        pytest.param({"grant_types": []}, id="no-grant-types"),
        pytest.param({"grant_types": ["password"]}, id="unsupported-grant"),
        pytest.param({"grant_types": ["client_credentials", "client_credentials"]}, id="grant-twice"),
        pytest.param({"grant_types": ["authorization_code"], "login": "personnel"}, id="code-without-redirect-uri"),
        pytest.param(
            {"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb"]}, id="code-without-login"
        ),
        pytest.param(
            {"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb"], "login": "robot"},
            id="unknown-login",
        ),
        pytest.param(
            {"grant_types": ["authorization_code"], "redirect_uris": ["/cb"], "login": "patient"},
            id="relative-redirect",
        ),
        pytest.param(
            {"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb#f"], "login": "patient"},
            id="redirect-with-fragment",
        ),
        pytest.param({"grant_types": ["client_credentials", "refresh_token"]}, id="refresh-without-code"),
        pytest.param({"login": "personnel"}, id="login-without-code-grant"),
        pytest.param({"dpop_bound": "yes"}, id="dpop-bound-not-bool"),
        pytest.param({"orgnr_parent": None}, id="system-client-without-org"),
        pytest.param({"tenancy": "many"}, id="unknown-tenancy"),
        pytest.param({"tenancy": "multi"}, id="multi-tenant-system-client"),
        pytest.param(
            {
                "tenancy": "multi",
                "grant_types": ["authorization_code"],
                "login": "personnel",
                "redirect_uris": ["http://127.0.0.1:8080/cb"],
            },
            id="multi-tenant-naming-its-org",
        ),
        pytest.param(
            {
                "tenancy": "multi",
                "grant_types": ["authorization_code"],
                "login": "patient",
                "redirect_uris": ["http://127.0.0.1:8080/cb"],
                "orgnr_parent": None,
                "orgnr_child": None,
            },
            id="multi-tenant-patient-client",
        ),
        pytest.param(
            {
                "tenancy": "multi",
                "grant_types": ["client_credentials", "authorization_code"],
                "login": "personnel",
                "redirect_uris": ["http://127.0.0.1:8080/cb"],
                "orgnr_parent": None,
                "orgnr_child": None,
            },
            id="multi-tenant-acting-for-itself",
        ),
    ],
)
def test_malformed_client_entries_are_refused(tmp_path: Path, change: dict[str, Any]) -> None:
    with pytest.raises(ClientRegistryError):
        load_clients(_write_clients(tmp_path, change))


def test_a_client_registered_twice_is_refused(tmp_path: Path) -> None:
    entry = json.loads((SEEDS / "clients.json").read_text())["clients"][0]
    (tmp_path / "clients.json").write_text(json.dumps({"clients": [entry, entry]}))

    with pytest.raises(ClientRegistryError, match="twice"):
        load_clients(tmp_path)
