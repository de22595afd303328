"""Reading urlencoded parameters strictly: size-limited, UTF-8, no repeated names (RFC 6749 §3.1, §3.2)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import InvalidRequestError
from starlette.requests import Request

MAX_FORM_BYTES = 64 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


async def read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise InvalidRequestError(description=f"The request body must be {FORM_CONTENT_TYPE}.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequestError(description="The request body is too large.")
    try:
        return parse_params(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidRequestError(description="The request body is not valid form data.") from None


def parse_params(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise InvalidRequestError(description="The parameters are not valid form data.") from None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise InvalidRequestError(description="A parameter is repeated in the request.")
    return dict(pairs)
