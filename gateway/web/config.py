"""What the web login needs from the settings, loaded once at start: the issuer, the two
clients with their private_key_jwt keys, the deployment's DPoP key (the same file on every
replica) and the public base URL the redirect URI is built on. Keys go through load_jwk, so
production refuses development keys here as well as in check_production."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.platform.dpop import Key as DpopKey
from services.platform.keys import load_jwk
from services.platform.settings import Settings, SettingsError


@dataclass(frozen=True)
class WebClient:
    client_id: str
    private_jwk: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    issuer: str
    patient: WebClient
    personnel: WebClient
    dpop_key: DpopKey = field(repr=False)
    public_url: str | None  # SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL; None: the request's own origin
    idle_seconds: float
    max_seconds: float

    @property
    def dpop_jkt(self) -> str:
        return self.dpop_key.thumbprint()

    @classmethod
    def from_settings(cls, settings: Settings) -> WebConfig:
        if settings.web_session_idle_seconds > settings.web_session_max_seconds:
            raise SettingsError(
                "SAMHANDLING_WEB_SESSION_IDLE_SECONDS must not exceed SAMHANDLING_WEB_SESSION_MAX_SECONDS"
            )
        dpop_key = load_jwk(settings.web_dpop_key(), settings)
        if dpop_key.key_type != "EC":
            raise SettingsError("SAMHANDLING_WEB_DPOP_KEY_FILE must hold an EC (P-256) key")
        return cls(
            issuer=settings.token_issuer.rstrip("/"),
            patient=WebClient(
                settings.web_patient_client_id,
                load_jwk(settings.web_patient_client_key(), settings).as_dict(private=True),
            ),
            personnel=WebClient(
                settings.web_personnel_client_id,
                load_jwk(settings.web_personnel_client_key(), settings).as_dict(private=True),
            ),
            dpop_key=dpop_key,
            public_url=settings.gateway_http_public_url,
            idle_seconds=settings.web_session_idle_seconds,
            max_seconds=settings.web_session_max_seconds,
        )
