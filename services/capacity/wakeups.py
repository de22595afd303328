"""What wakes one replica's capacity watchers (services/platform/wakeups.py): a commit in this
process, or a NOTIFY on sequence_store.CHANNEL from any replica, for either sequence (capacity
reports, alert events)."""

from __future__ import annotations

from pathlib import Path

from services.platform import wakeups

from . import sequence_store


class Wakeups(wakeups.Wakeups):
    """One replica's Signals of the capacity sequences and its one listener."""

    def __init__(self, listen_url: str | None, password_file: Path | None = None) -> None:
        super().__init__(listen_url, sequence_store.CHANNEL, sequence_store.NAMES, "capacity-listener", password_file)
