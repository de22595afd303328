"""Seeding of the audit service: the log starts empty, events come only from real accesses."""
from __future__ import annotations

from pathlib import Path

from .store import AuditStore


def seed(store: AuditStore, seeds_dir: Path) -> int:
    """Nothing to load; kept so every backend answers `samhandling seed` alike."""
    return 0
