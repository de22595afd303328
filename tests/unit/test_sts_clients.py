import json
from pathlib import Path
from typing import Any

import pytest

from services.sts.clients import ClientRegistryError, load_client_private_jwk, load_clients
from services.sts.keys import import_private_jwk

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
    }
    assert set(clients["demo-hospital"].scopes) == {S + s for s in ("capacity.read", "capacity.report", "alerts", "summary.read")}
    for system in ("demo-ehr", "demo-auditor", "demo-ehr-baerum", "demo-hospital"):
        assert clients[system].grant_types == ("client_credentials",) and not clients[system].dpop_bound


def test_the_login_clients() -> None:
    clients = load_clients(SEEDS)
    legevakt, web = clients["demo-legevakt"], clients["samhandling-web"]

    assert legevakt.grant_types == ("client_credentials", "authorization_code", "refresh_token")
    assert legevakt.dpop_bound and legevakt.login == "personnel"
    assert legevakt.scopes == (S + "summary.read", S + "summary.write", S + "capacity.read")
    assert legevakt.redirect_uris == ("http://127.0.0.1:8765/callback",)
    assert web.grant_types == ("authorization_code", "refresh_token")
    assert not web.dpop_bound and web.login == "patient" and web.scopes == ("samhandling:patient",)
    assert web.redirect_uris == ("http://127.0.0.1:8080/callback",)


def test_redirect_uris_match_exactly_and_response_type_follows_the_grants() -> None:
    clients = load_clients(SEEDS)
    web = clients["samhandling-web"]

    assert web.check_redirect_uri("http://127.0.0.1:8080/callback")
    for near_miss in ("http://127.0.0.1:8080/callback/", "http://127.0.0.1:8080/callback?x=1", "http://127.0.0.1:8080/"):
        assert not web.check_redirect_uri(near_miss)
    assert web.get_default_redirect_uri() is None
    assert web.check_response_type("code") and not web.check_response_type("token")
    assert not clients["demo-ehr"].check_response_type("code")
    assert web.check_grant_type("refresh_token") and not web.check_grant_type("client_credentials")


@pytest.mark.parametrize(
    "client_id", ["demo-ehr", "demo-auditor", "demo-ehr-baerum", "demo-hospital", "demo-legevakt", "samhandling-web"]
)
def test_registered_public_key_is_the_public_half_of_the_dev_key_file(client_id: str) -> None:
    client = load_clients(SEEDS)[client_id]
    private = load_client_private_jwk(client)

    assert private["dev_only"] is True and private["kid"] == client_id
    assert import_private_jwk(private).as_dict(private=False) == client.public_key.as_dict(private=False)


def test_scope_rules() -> None:
    client = load_clients(SEEDS)["demo-ehr-baerum"]

    assert client.get_allowed_scope(None) == f"{S}summary.read {S}capacity.read"
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
        pytest.param({"public_jwk": json.loads((SEEDS / "keys/demo-ehr.dev-only.jwk.json").read_text())}, id="private-key-as-public"),
        pytest.param({"orgnr_child": "910000021"}, id="bad-org-check-digit"),
        pytest.param({"scopes": []}, id="no-scopes"),
        pytest.param({"default_purpose_of_use": "SHOPPING"}, id="unknown-purpose"),
        pytest.param({"client_name": ""}, id="empty-name"),
        pytest.param({"grant_types": []}, id="no-grant-types"),
        pytest.param({"grant_types": ["password"]}, id="unsupported-grant"),
        pytest.param({"grant_types": ["client_credentials", "client_credentials"]}, id="grant-twice"),
        pytest.param({"grant_types": ["authorization_code"], "login": "personnel"}, id="code-without-redirect-uri"),
        pytest.param({"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb"]}, id="code-without-login"),
        pytest.param({"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb"], "login": "robot"},
                     id="unknown-login"),
        pytest.param({"grant_types": ["authorization_code"], "redirect_uris": ["/cb"], "login": "patient"}, id="relative-redirect"),
        pytest.param({"grant_types": ["authorization_code"], "redirect_uris": ["http://x.example/cb#f"], "login": "patient"},
                     id="redirect-with-fragment"),
        pytest.param({"grant_types": ["client_credentials", "refresh_token"]}, id="refresh-without-code"),
        pytest.param({"login": "personnel"}, id="login-without-code-grant"),
        pytest.param({"dpop_bound": "yes"}, id="dpop-bound-not-bool"),
        pytest.param({"orgnr_parent": None}, id="system-client-without-org"),
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
