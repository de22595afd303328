"""The escalation's settings as the core's values (docs/escalation.md, "Settings")."""

from __future__ import annotations

from datetime import timedelta

from services.platform.settings import Settings

from .escalation_rules import AcknowledgeWithin


def acknowledge_within(settings: Settings) -> AcknowledgeWithin:
    """The acknowledge-within times in force (SAMHANDLING_ESCALATION_ACKNOWLEDGE_*_MINUTES)."""
    return AcknowledgeWithin(*(timedelta(minutes=m) for m in settings.escalation_acknowledge_minutes.values()))


def sweep_interval(settings: Settings) -> timedelta:
    """The wait between sweeps when nothing more is due (SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS)."""
    return timedelta(seconds=settings.escalation_sweep_interval_seconds)
