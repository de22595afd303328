"""Typed settings, read once from the environment by each process's composition root."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Default loopback ports of every component (ARCHITECTURE.md, "Processes").
DEFAULT_PORTS: dict[str, int] = {
    "sts": 8090,
    "gateway": 50050,
    "gateway_http": 8080,  # the gateway's HTTP port: JSON API and pages
    "consent": 50051,
    "audit": 50052,
    "summary": 50053,
    "capacity": 50054,
}
BACKENDS = ("consent", "audit", "summary", "capacity")
COMPONENTS = ("sts", *BACKENDS, "gateway")


class SettingsError(ValueError):
    """A setting is missing or malformed; the process refuses to start."""


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about its environment.

    `addresses` are where peers reach each component; `listen` overrides where this process
    binds (e.g. 0.0.0.0:50051 in a container) and defaults to its own address.
    """

    env: str = "dev"
    var_dir: Path = REPO_ROOT / "var"
    seeds_dir: Path = REPO_ROOT / "seeds"
    addresses: Mapping[str, str] = field(
        default_factory=lambda: {c: f"127.0.0.1:{p}" for c, p in DEFAULT_PORTS.items()}
    )
    listen: str | None = None
    database_urls: Mapping[str, str] = field(default_factory=dict)
    token_issuer: str = "http://127.0.0.1:8090"
    token_audience: str = "nhn:samhandling"
    # Production trusts only HelseID's issuers unless another one is named here on purpose.
    custom_issuer_allowed: bool = False
    gateway_public_url: str = "http://127.0.0.1:50050"
    # What clients call the JSON API (DPoP htu base); unset: the URL each request arrives at,
    # which is right on loopback but not behind a TLS-terminating proxy.
    gateway_http_public_url: str | None = None
    # Consent decisions cached in the gateway, safe against revocation (gateway/decision_cache.py).
    decision_cache: bool = True
    dpop_bound_clients: frozenset[str] = frozenset()
    consent_receipt_key_file: Path | None = None
    assertion_key_file: Path | None = None
    assertion_public_key_file: Path | None = None
    # The audit log's checkpoint signing key (Ed25519 PKCS#8 PEM) and origin (the log's name in its
    # checkpoints); origin None: the development origin, refused in production (services.audit.signer).
    audit_log_key_file: Path | None = None
    audit_log_origin: str | None = None

    @property
    def production(self) -> bool:
        return self.env == "production"

    def database_url(self, component: str) -> str:
        return self.database_urls.get(component) or f"sqlite:///{self.var_dir / component}.db"

    def listen_address(self, component: str) -> str:
        return self.listen or self.addresses[component]

    def assertion_signing_key(self) -> Path:
        return self.assertion_key_file or self.seeds_dir / "keys" / "gateway-assertion.dev-only.jwk.json"

    def consent_receipt_key(self) -> Path:
        return self.consent_receipt_key_file or self.seeds_dir / "keys" / "consent-receipts.dev-only.jwk.json"

    def audit_log_key(self) -> Path:
        return self.audit_log_key_file or self.seeds_dir / "keys" / "audit-log.dev-only.pem"

    def assertion_verification_key(self) -> Path:
        return self.assertion_public_key_file or self.assertion_signing_key()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("SAMHANDLING_ENV", "dev")
        if mode not in ("dev", "production"):
            raise SettingsError(f"SAMHANDLING_ENV must be 'dev' or 'production', not {mode!r}")
        addresses = {
            c: env.get(f"SAMHANDLING_{c.upper()}_ADDR", f"127.0.0.1:{p}") for c, p in DEFAULT_PORTS.items()
        }
        databases = {
            c: env[f"SAMHANDLING_{c.upper()}_DATABASE_URL"]
            for c in (*BACKENDS, "gateway")  # the gateway's: its replicas' shared DPoP replay claims
            if env.get(f"SAMHANDLING_{c.upper()}_DATABASE_URL")
        }
        sts = addresses["sts"]
        return cls(
            env=mode,
            var_dir=Path(env.get("SAMHANDLING_VAR_DIR", REPO_ROOT / "var")),
            seeds_dir=Path(env.get("SAMHANDLING_SEEDS_DIR", REPO_ROOT / "seeds")),
            addresses=addresses,
            listen=env.get("SAMHANDLING_LISTEN") or None,
            database_urls=databases,
            token_issuer=env.get("SAMHANDLING_TOKEN_ISSUER", f"http://{sts}"),
            token_audience=env.get("SAMHANDLING_TOKEN_AUDIENCE", "nhn:samhandling"),
            custom_issuer_allowed=env.get("SAMHANDLING_CUSTOM_ISSUER_ALLOWED", "") == "1",
            gateway_public_url=env.get("SAMHANDLING_GATEWAY_PUBLIC_URL", f"http://{addresses['gateway']}"),
            gateway_http_public_url=env.get("SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL") or None,
            decision_cache=_switch(env, "SAMHANDLING_DECISION_CACHE", default=True),
            dpop_bound_clients=frozenset(
                c.strip() for c in env.get("SAMHANDLING_DPOP_BOUND_CLIENTS", "").split(",") if c.strip()
            ),
            consent_receipt_key_file=_path(env.get("SAMHANDLING_CONSENT_RECEIPT_KEY_FILE")),
            assertion_key_file=_path(env.get("SAMHANDLING_ASSERTION_KEY_FILE")),
            assertion_public_key_file=_path(env.get("SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE")),
            audit_log_key_file=_path(env.get("SAMHANDLING_AUDIT_LOG_KEY_FILE")),
            audit_log_origin=env.get("SAMHANDLING_AUDIT_LOG_ORIGIN") or None,
        )


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("on", "off"):
        raise SettingsError(f"{name} must be 'on' or 'off', not {value!r}")
    return value == "on"


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
