"""The clients registered with the development STS (seeds/clients.json)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

from services.platform.ids import InvalidIdentifier, validate_org_number

from .identity_scopes import ALL_IDENTITY_SCOPES, IDENTITY_SCOPES
from .keys import AsymmetricKey, KeyFileError, import_public_jwk
from .trust_framework import PURPOSES_OF_USE

CLIENT_AUTH_METHOD = "private_key_jwt"
CLIENT_CREDENTIALS = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"
GRANT_TYPES = (CLIENT_CREDENTIALS, AUTHORIZATION_CODE, REFRESH_TOKEN)
LoginKind = Literal["personnel", "patient"]
LOGIN_KINDS: tuple[LoginKind, ...] = ("personnel", "patient")
# Single: the client acts for its own organisation. Multi: the organisation is the one of the
# person who logs in (the dev stand-in for HelseID's multi-tenant clients); personnel login only.
Tenancy = Literal["single", "multi"]
TENANCIES: tuple[Tenancy, ...] = ("single", "multi")
# The auditors' scope (gateway/oauth_scopes.py AUDIT_READ). A token carrying it makes its holder an
# auditor (gateway/principal.py), so it is granted alone: never beside a clinical or capacity scope.
AUDIT_SCOPE = "nhn:samhandling/audit.read"
# RFC 8252 §7.3: a native or development client on a loopback address gets whatever port is free,
# so a registered http loopback redirect_uri matches on any port (scheme, host and path exactly).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


class ClientRegistryError(ValueError):
    """clients.json is missing or malformed."""


@dataclass(frozen=True, eq=False)
class RegisteredClient(ClientMixin):
    """One client: who it is, what it may ask for, how, and the key it proves itself with.

    `login` says which people log in through it (health personnel, HelseID-like; or patients,
    ID-porten-like); only clients with the authorization_code grant have one. Org numbers are
    absent only for the patients' client, which acts for no organisation, and for a multi-tenant
    personnel client, whose tokens carry the organisation of the person who logged in.
    """

    client_id: str
    client_name: str
    orgnr_parent: str | None
    orgnr_child: str | None
    scopes: tuple[str, ...]
    default_purpose_of_use: str | None
    public_key: AsymmetricKey
    private_key_file: Path | None
    grant_types: tuple[str, ...] = (CLIENT_CREDENTIALS,)
    redirect_uris: tuple[str, ...] = ()
    dpop_bound: bool = False
    login: LoginKind | None = None
    tenancy: Tenancy = "single"

    @property
    def multi_tenant(self) -> bool:
        return self.tenancy == "multi"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: an authorization request must name its redirect_uri."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """No scope requested means all of the client's registered scopes (RFC 6749 §3.3 default).

        The grants have already refused anything the client may not ask for.
        """
        if not scope:
            return " ".join(self.scopes)
        allowed = set(self.requestable_scopes(with_login=True))
        return " ".join(s for s in dict.fromkeys(scope.split()) if s in allowed)

    def requestable_scopes(self, *, with_login: bool) -> tuple[str, ...]:
        """The registered scopes, and with a person's login the OpenID Connect ones of its kind."""
        if with_login and self.login is not None:
            return self.scopes + IDENTITY_SCOPES[self.login]
        return self.scopes

    def allows_scope(self, scope: str | None, *, with_login: bool = False) -> bool:
        return not scope or set(scope.split()) <= set(self.requestable_scopes(with_login=with_login))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 §4.1.3), no prefix or pattern matching; except that a
        registered http loopback URI matches on any port (RFC 8252 §7.3)."""
        if redirect_uri in self.redirect_uris:
            return True
        requested = _loopback(redirect_uri)
        return requested is not None and any(
            (registered := _loopback(uri)) is not None and _same_but_port(registered, requested)
            for uri in self.redirect_uris
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == CLIENT_AUTH_METHOD and endpoint == "token"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and AUTHORIZATION_CODE in self.grant_types


def scope_conflict(scope: str) -> str | None:
    """Why a scope may not be granted as one token (None: it may). The audit scope goes alone:
    beside it only OpenID Connect scopes, never another API scope."""
    requested = set(scope.split())
    if AUDIT_SCOPE in requested and (others := requested - {AUDIT_SCOPE} - set(ALL_IDENTITY_SCOPES)):
        return f"{AUDIT_SCOPE} is granted alone, not with {' '.join(sorted(others))}"
    return None


def _loopback(uri: str) -> SplitResult | None:
    """The parts of an http URI on a loopback host without user info, else None."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.username is not None or parts.password is not None:
        return None
    # The host exactly as written, and a port (if any) in its plain decimal form.
    exact = parts.netloc in (parts.hostname, f"{parts.hostname}:{parts.port}")
    return parts if parts.hostname in LOOPBACK_HOSTS and exact else None


def _same_but_port(registered: SplitResult, requested: SplitResult) -> bool:
    return (registered.hostname, registered.path, registered.query, registered.fragment) == (
        requested.hostname,
        requested.path,
        requested.query,
        requested.fragment,
    )


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
        raise ClientRegistryError(f"cannot read the key of {client.client_id!r}: {exc.__class__.__name__}") from None


def _parse_client(entry: Any, seeds_dir: Path) -> RegisteredClient:
    try:
        client_id = _text(entry, "client_id")
        scopes = _texts(entry, "scopes")
        purpose = entry.get("default_purpose_of_use")
        if purpose is not None and purpose not in PURPOSES_OF_USE:
            raise ClientRegistryError(f"unknown default_purpose_of_use {purpose!r}")
        grant_types = _texts(entry, "grant_types")
        if unknown := set(grant_types) - set(GRANT_TYPES):
            raise ClientRegistryError(f"unsupported grant types {sorted(unknown)}")
        login = entry.get("login")
        redirect_uris = tuple(_redirect_uri(uri) for uri in _texts(entry, "redirect_uris", required=False))
        _check_login_rules(grant_types, login, redirect_uris)
        tenancy = entry.get("tenancy", "single")
        _check_tenancy(tenancy, login, grant_types, entry)
        dpop_bound = entry.get("dpop_bound", False)
        if not isinstance(dpop_bound, bool):
            raise ClientRegistryError("'dpop_bound' must be true or false")
        # The patients' client acts for no organisation, a multi-tenant one for the person's;
        # every other client names its own.
        org_optional = login == "patient" or tenancy == "multi"
        key_file = entry.get("private_key_file")
        return RegisteredClient(
            client_id=client_id,
            client_name=_text(entry, "client_name"),
            orgnr_parent=_orgnr(entry, "orgnr_parent", optional=org_optional),
            orgnr_child=_orgnr(entry, "orgnr_child", optional=org_optional),
            scopes=scopes,
            default_purpose_of_use=purpose,
            public_key=import_public_jwk(entry["public_jwk"]),
            private_key_file=seeds_dir / key_file if key_file else None,
            grant_types=grant_types,
            redirect_uris=redirect_uris,
            dpop_bound=dpop_bound,
            login=login,
            tenancy=tenancy,
        )
    except (KeyError, TypeError, AttributeError, KeyFileError, ClientRegistryError) as exc:
        name = entry.get("client_id") if isinstance(entry, dict) else None
        raise ClientRegistryError(f"invalid client entry {name!r}: {exc}") from None


def _check_login_rules(grant_types: tuple[str, ...], login: Any, redirect_uris: tuple[str, ...]) -> None:
    if AUTHORIZATION_CODE in grant_types:
        if login not in LOGIN_KINDS:
            raise ClientRegistryError(f"'login' must be one of {', '.join(LOGIN_KINDS)} for authorization_code")
        if not redirect_uris:
            raise ClientRegistryError("authorization_code needs at least one redirect_uri")
    elif login is not None or redirect_uris:
        raise ClientRegistryError("'login' and 'redirect_uris' belong to authorization_code clients only")
    if REFRESH_TOKEN in grant_types and AUTHORIZATION_CODE not in grant_types:
        # Refresh tokens are issued only with a person's login.
        raise ClientRegistryError("refresh_token needs authorization_code")


def _check_tenancy(tenancy: Any, login: Any, grant_types: tuple[str, ...], entry: dict[str, Any]) -> None:
    if tenancy not in TENANCIES:
        raise ClientRegistryError(f"'tenancy' must be one of {', '.join(TENANCIES)}")
    if tenancy == "single":
        return
    if login != "personnel":
        raise ClientRegistryError("a multi-tenant client is for personnel login only")
    if CLIENT_CREDENTIALS in grant_types:
        # Acting for itself it would have no organisation to act for.
        raise ClientRegistryError("a multi-tenant client acts only for a person: no client_credentials")
    if entry.get("orgnr_parent") is not None or entry.get("orgnr_child") is not None:
        raise ClientRegistryError("a multi-tenant client names no organisation: it takes the person's")


def _redirect_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ClientRegistryError(f"redirect_uri must be an absolute http(s) URL without fragment: {uri!r}")
    return uri


def _text(entry: dict[str, Any], name: str) -> str:
    value = entry[name]
    if not isinstance(value, str) or not value:
        raise ClientRegistryError(f"'{name}' must be a non-empty string")
    return value


def _texts(entry: dict[str, Any], name: str, *, required: bool = True) -> tuple[str, ...]:
    value = entry.get(name, None if required else [])
    if (
        not isinstance(value, list)
        or (required and not value)
        or not all(isinstance(s, str) and s for s in value)
        or len(set(value)) != len(value)
    ):
        raise ClientRegistryError(f"'{name}' must be a {'non-empty ' if required else ''}list of distinct strings")
    return tuple(value)


def _orgnr(entry: dict[str, Any], name: str, *, optional: bool) -> str | None:
    if optional and entry.get(name) is None:
        return None
    try:
        return validate_org_number(entry[name])
    except InvalidIdentifier as exc:
        raise ClientRegistryError(f"'{name}': {exc}") from None
