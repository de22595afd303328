"""`samhandling token --client ID`: an access token for a seeded client, from the STS via
private_key_jwt with that client's development key."""
from __future__ import annotations

from services.platform.settings import Settings, SettingsError
from services.sts.client import fetch_client_credentials_token
from services.sts.clients import load_client_private_jwk, load_clients


async def client_token(settings: Settings, client_id: str, scope: str | None = None) -> str:
    if settings.production:
        raise SettingsError("seeded development clients do not exist in production mode")
    clients = load_clients(settings.seeds_dir)
    if client_id not in clients:
        raise SettingsError(f"unknown client {client_id!r}; seeded clients: {', '.join(sorted(clients))}")
    private_jwk = load_client_private_jwk(clients[client_id])
    return await fetch_client_credentials_token(settings.token_issuer, client_id, private_jwk, scope=scope)
