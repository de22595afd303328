"""Reading a request body with a bound, and its media type, for the JSON API and the web pages alike."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from services.platform.errors import invalid_argument

from .errors import body_too_large


def is_utf8_media(content_type: str, media_type: str) -> bool:
    """Whether a Content-Type header names `media_type`, with no charset or UTF-8."""
    media, *parameters = content_type.split(";")
    if media.strip().lower() != media_type:
        return False
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return False
    return True


async def read_body(request: Request, limit: int, field: str) -> bytes:
    """The whole body, at most `limit` bytes (refused as soon as the declared length or the
    bytes received pass it, so no caller makes the gateway hold more); a client that leaves
    midway is a field violation of `field`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise body_too_large(limit)
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise body_too_large(limit)
    except ClientDisconnect:
        raise invalid_argument({field: "the client left before sending all of it"}) from None
    return bytes(raw)
