"""The web pages of the gateway's HTTP port: static files (no templating, nothing of the
caller's in them) served with a strict Content-Security-Policy. Their scripts call the JSON
API with the user's token; the pages themselves hold no data and need none."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

PAGES_PREFIX = "/pages"
_DIR = Path(__file__).with_name("pages")
_MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}
# Scripts, styles and calls only from this origin; no framing, no plugins, no inline code.
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}

Endpoint = Callable[[Request], Awaitable[Response]]


def page_endpoints() -> dict[str, Endpoint]:
    """Path -> GET endpoint for every file of pages/; `capacity.html` is served as /pages/capacity."""
    endpoints = {}
    for file in sorted(_DIR.iterdir()):
        if file.suffix not in _MEDIA_TYPES:
            continue
        path = f"{PAGES_PREFIX}/{file.stem if file.suffix == '.html' else file.name}"
        endpoints[path] = _static(file.read_bytes(), _MEDIA_TYPES[file.suffix])
    return endpoints


def _static(content: bytes, media_type: str) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return Response(content, media_type=media_type, headers=_HEADERS)

    return endpoint
