"""Cross-site request forgery: every POST must come from our own origin (the Origin header,
and Sec-Fetch-Site when the browser sends it) and carry the session's synchronizer token in
its `csrf` field. SameSite=Lax on the session cookie is the third layer, not relied on here."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request

CSRF_FIELD = "csrf"
TOKEN_BYTES = 32  # 43 characters of URL-safe base64


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of a configured public URL (default ports dropped, as browsers
    send Origin), or None when there is none."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme}://{host}{port}"


def request_origin(request: Request) -> str:
    """The origin the browser asked: the request's own scheme and Host."""
    return origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}") or ""


def same_origin(request: Request, expected_origin: str | None) -> bool:
    """The Origin header equals the expected origin (the configured public one, else the
    request's own), and Sec-Fetch-Site, if sent, says same-origin; or the Origin is `null`
    and Sec-Fetch-Site says same-origin."""
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin == "null":
        # Our pages' Referrer-Policy (no-referrer) makes a browser send `Origin: null` on their
        # own form posts (Fetch, "serializing a request origin"); then Sec-Fetch-Site, which no
        # page can set, must say same-origin. Without it, a null origin proves nothing.
        return fetch_site == "same-origin"
    if origin is None:
        return False
    try:
        wanted = expected_origin or request_origin(request)
    except ValueError:
        return False
    if origin.lower() != wanted.lower():
        return False
    return fetch_site is None or fetch_site == "same-origin"


def token_matches(expected: str, presented: str | None) -> bool:
    if not expected or presented is None:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())
