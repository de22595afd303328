"""`samhandling token`: an access token from the STS for a seeded client (client credentials),
a seeded health person (`--user`) or a seeded patient (`--patient`), the last two through the
real authorization-code flow, non-interactive in dev. `--dpop FILE` binds it to a new key
written to FILE, so the caller can make its own proofs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey

from services.platform.settings import Settings, SettingsError
from services.sts.client_registry import RegisteredClient, load_client_private_jwk, load_clients
from services.sts.token_client import fetch_client_credentials_token, login_token


@dataclass(frozen=True)
class Identity:
    """Who the command acts as; from the command line."""

    client_id: str | None = None
    user: str | None = None
    patient: str | None = None
    purpose: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class Token:
    access_token: str
    dpop_key: ECKey | None

    @property
    def scheme(self) -> str:
        return "DPoP" if self.dpop_key else "Bearer"


async def obtain_token(settings: Settings, identity: Identity, *, dpop: bool = False) -> Token:
    if settings.production:
        raise SettingsError("seeded development clients and people do not exist in production mode")
    client = _client(settings, identity)
    private_jwk = load_client_private_jwk(client)
    key = ECKey.generate_key("P-256") if dpop else None
    person = identity.user or identity.patient
    if person is None:
        access = await fetch_client_credentials_token(
            settings.token_issuer, client.client_id, private_jwk, identity.scope, dpop_key=key, purpose=identity.purpose
        )
    else:
        answer = await login_token(
            settings.token_issuer,
            client.client_id,
            private_jwk,
            client.redirect_uris[0],
            person,
            kind="personnel" if identity.user else "patient",
            scope=identity.scope,
            dpop_key=key,
            purpose=identity.purpose,
        )
        access = answer.access_token
    return Token(access, key)


def write_private_key(key: ECKey, path: Path) -> None:
    """Writes the DPoP key as a private JWK, readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(key.as_dict(private=True), out)


def _client(settings: Settings, identity: Identity) -> RegisteredClient:
    """The named client, or for a login the seeded client people of that kind log in through."""
    clients = load_clients(settings.seeds_dir)
    if identity.user and identity.patient:
        raise SettingsError("--user and --patient exclude each other")
    login = "personnel" if identity.user else "patient" if identity.patient else None
    if identity.client_id is None:
        if login is None:
            raise SettingsError("name a --client, or log in with --user PID or --patient PID")
        candidates = [c for c in clients.values() if c.login == login]
        if not candidates:
            raise SettingsError(f"no seeded client has {login} login")
        return candidates[0]
    if identity.client_id not in clients:
        raise SettingsError(f"unknown client {identity.client_id!r}; seeded clients: {', '.join(sorted(clients))}")
    client = clients[identity.client_id]
    if login is not None and client.login != login:
        raise SettingsError(f"{client.client_id} has no {login} login")
    return client
