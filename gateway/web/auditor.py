"""The web routes of the auditor console (part 5 of issue 13); none yet."""
from __future__ import annotations

from .context import WebRoute


def routes() -> list[WebRoute]:
    return []
