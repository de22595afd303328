"""Database set-up of every component: migrations and the synthetic seeds."""

from __future__ import annotations

from collections.abc import Sequence

from services.backend_lookup import backend
from services.platform.db import migrate_platform
from services.platform.settings import BACKENDS, Settings, SettingsError


def migrate_all(settings: Settings, components: Sequence[str] = (*BACKENDS, "gateway")) -> None:
    """Each database to its newest schema; concurrent runs are safe (services.platform.db.migrate)."""
    for component in components:
        if component == "gateway":
            # The gateway's database holds only the platform's tables (its replicas' DPoP replay claims).
            migrate_platform(settings.database_url("gateway"), settings.database)
        else:
            backend(component).migrate(settings)


def seed_all(settings: Settings) -> dict[str, int]:
    """Idempotent: running it twice leaves the same data."""
    if settings.production:
        raise SettingsError("refusing to load synthetic seeds in production mode")
    return {component: backend(component).seed(settings) for component in BACKENDS}
