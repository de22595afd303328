"""The web routes of the patient pages (part 4 of issue 13); none yet."""
from __future__ import annotations

from .context import WebRoute


def routes() -> list[WebRoute]:
    return []
