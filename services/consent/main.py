"""Composition root of the consent service."""

from __future__ import annotations

import json
from pathlib import Path

from joserfc.jwk import ECKey

from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from services.platform.backend_service import Backend
from services.platform.keys import load_jwk
from services.platform.settings import Settings, SettingsError

from . import seed
from .api import ConsentApi
from .policy_feed import PolicyFeed
from .receipts import ReceiptSigner
from .store import ConsentStore
from .watch import PolicyChangeHub


def receipt_signer(settings: Settings) -> ReceiptSigner:
    """The key that signs consent receipts; load_jwk refuses the development key in production."""
    key = load_jwk(settings.consent_receipt_key(), settings)
    if not isinstance(key, ECKey):
        raise SettingsError("the consent receipt key must be an EC P-256 key (ES256)")
    return ReceiptSigner(key)


def organisation_names(settings: Settings) -> dict[str, str]:
    """Names for notification texts. Development only: the seeded names belong to made-up
    numbers and must never be shown for a real organisation; production shows numbers."""
    path = settings.seeds_dir / "organisations.json"
    if settings.production or not path.exists():
        return {}
    return {o["orgnr"]: o["name"] for o in json.loads(path.read_text(encoding="utf-8"))}


def make_api(store: ConsentStore, settings: Settings, hub: PolicyChangeHub | None = None) -> ConsentApi:
    return ConsentApi(
        store,
        hub
        or PolicyChangeHub(
            PolicyFeed(
                store.sessions,
                listen_url=settings.session_database_url("consent"),
                password_file=settings.database.password_file,
            )
        ),
        receipt_signer(settings),
        allow_synthetic=not settings.production,
        organisations=organisation_names(settings),
    )


# Synthetic test persons exist only in development; production refuses them, seeds included.
BACKEND = Backend(
    name="consent",
    migrations=Path(__file__).parent / "migrations",
    service=consent_pb2.DESCRIPTOR.services_by_name["ConsentService"],
    add_to_server=consent_pb2_grpc.add_ConsentServiceServicer_to_server,
    read_only=ConsentApi.READ_ONLY,
    make_store=ConsentStore,
    make_api=make_api,
    load_seeds=lambda store, settings: seed.seed(
        store, settings.seeds_dir, receipt_signer(settings), allow_synthetic=not settings.production
    ),
)
