"""Database set-up of every backend: migrations and the synthetic seeds."""
from __future__ import annotations

import importlib

from services.platform.db import migrate
from services.platform.settings import BACKENDS, Settings


def migrate_all(settings: Settings) -> None:
    for component in BACKENDS:
        migrate(settings.database_url(component), _main(component).MIGRATIONS)


def seed_all(settings: Settings) -> dict[str, int]:
    """Idempotent: running it twice leaves the same data."""
    if settings.production:
        raise SystemExit("refusing to load synthetic seeds in production mode")
    return {component: _main(component).seed(settings) for component in BACKENDS}


def _main(component: str):
    return importlib.import_module(f"services.{component}.main")
