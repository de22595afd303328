"""The web routes of the BFF login (part 2 of issue 13): /logg-inn/..., /innlogging/ferdig, /logg-ut; none yet."""
from __future__ import annotations

from .context import WebRoute


def routes() -> list[WebRoute]:
    return []
