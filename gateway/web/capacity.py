"""The web routes of the capacity page behind the personnel login (part 6 of issue 13); none yet."""
from __future__ import annotations

from .context import WebRoute


def routes() -> list[WebRoute]:
    return []
