"""The clients registered with the development STS (seeds/clients.json)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin

from services.platform.ids import InvalidIdentifier, validate_org_number

from .keys import AsymmetricKey, KeyFileError, import_public_jwk

CLIENT_AUTH_METHOD = "private_key_jwt"
GRANT_TYPE = "client_credentials"
PURPOSES_OF_USE = frozenset({"TREAT", "ETREAT", "COC", "BTG"})


class ClientRegistryError(ValueError):
    """clients.json is missing or malformed."""


@dataclass(frozen=True, eq=False)
class RegisteredClient(ClientMixin):
    """One system client: who it is, what it may ask for, and the key it proves itself with."""

    client_id: str
    client_name: str
    orgnr_parent: str
    orgnr_child: str
    scopes: tuple[str, ...]
    default_purpose_of_use: str | None
    public_key: AsymmetricKey
    private_key_file: Path | None

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str:
        """No scope requested means all of the client's scopes (RFC 6749 §3.3 default).

        The token grant has already refused anything outside `self.scopes`.
        """
        if not scope:
            return " ".join(self.scopes)
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in self.scopes)

    def allows_scope(self, scope: str | None) -> bool:
        return not scope or set(scope.split()) <= set(self.scopes)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == CLIENT_AUTH_METHOD and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE


def load_clients(seeds_dir: Path) -> dict[str, RegisteredClient]:
    """Reads `<seeds_dir>/clients.json`; private key files are resolved relative to seeds_dir."""
    path = Path(seeds_dir) / "clients.json"
    try:
        entries = json.loads(path.read_text())["clients"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClientRegistryError(f"cannot read {path}: {exc.__class__.__name__}") from None
    clients: dict[str, RegisteredClient] = {}
    for entry in entries:
        client = _parse_client(entry, Path(seeds_dir))
        if client.client_id in clients:
            raise ClientRegistryError(f"client {client.client_id!r} is registered twice")
        clients[client.client_id] = client
    return clients


def load_client_private_jwk(client: RegisteredClient) -> dict[str, Any]:
    """The client's private JWK as a dict (for `samhandling token`); dev keys only."""
    if client.private_key_file is None:
        raise ClientRegistryError(f"client {client.client_id!r} has no private key file")
    try:
        return dict(json.loads(client.private_key_file.read_text()))
    except (OSError, ValueError) as exc:
        raise ClientRegistryError(
            f"cannot read the key of {client.client_id!r}: {exc.__class__.__name__}"
        ) from None


def _parse_client(entry: Any, seeds_dir: Path) -> RegisteredClient:
    try:
        client_id = _text(entry, "client_id")
        scopes = entry["scopes"]
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) and s for s in scopes):
            raise ClientRegistryError("'scopes' must be a non-empty list of strings")
        purpose = entry.get("default_purpose_of_use")
        if purpose is not None and purpose not in PURPOSES_OF_USE:
            raise ClientRegistryError(f"unknown default_purpose_of_use {purpose!r}")
        key_file = entry.get("private_key_file")
        return RegisteredClient(
            client_id=client_id,
            client_name=_text(entry, "client_name"),
            orgnr_parent=_orgnr(entry, "orgnr_parent"),
            orgnr_child=_orgnr(entry, "orgnr_child"),
            scopes=tuple(scopes),
            default_purpose_of_use=purpose,
            public_key=import_public_jwk(entry["public_jwk"]),
            private_key_file=seeds_dir / key_file if key_file else None,
        )
    except (KeyError, TypeError, AttributeError, KeyFileError, ClientRegistryError) as exc:
        name = entry.get("client_id") if isinstance(entry, dict) else None
        raise ClientRegistryError(f"invalid client entry {name!r}: {exc}") from None


def _text(entry: dict[str, Any], name: str) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value:
        raise ClientRegistryError(f"'{name}' must be a non-empty string")
    return value


def _orgnr(entry: dict[str, Any], name: str) -> str:
    try:
        return validate_org_number(entry[name])
    except InvalidIdentifier as exc:
        raise ClientRegistryError(f"'{name}': {exc}") from None
