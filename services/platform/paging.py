"""Page sizes and opaque page tokens of list calls (audit events, notifications), pure."""
from __future__ import annotations

import base64
import binascii
import re

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_TOKEN = re.compile(r"v1:([1-9][0-9]{0,18})")


class InvalidPage(ValueError):
    """A page size or token is out of range or malformed; the message is safe to show."""


def page_size(requested: int) -> int:
    if requested == 0:
        return DEFAULT_PAGE_SIZE
    if not 1 <= requested <= MAX_PAGE_SIZE:
        raise InvalidPage(f"1-{MAX_PAGE_SIZE}, or 0 for {DEFAULT_PAGE_SIZE}")
    return requested


def encode_page_token(last_sequence: int) -> str:
    """Token that continues after (below) the last sequence returned; versioned so its content may change."""
    return base64.urlsafe_b64encode(f"v1:{last_sequence}".encode()).decode()


def decode_page_token(token: str) -> int | None:
    """The sequence to continue below; None for the first page."""
    if not token:
        return None
    try:
        match = _TOKEN.fullmatch(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
    except (UnicodeError, binascii.Error, ValueError):
        match = None
    if match is None:
        raise InvalidPage("not a token from a previous response")
    return int(match.group(1))


def page_violations(requested_size: int, token: str) -> tuple[int, int | None, dict[str, str]]:
    """(page size, sequence to continue below, field violations) of a list request."""
    problems: dict[str, str] = {}
    limit, below = DEFAULT_PAGE_SIZE, None
    try:
        limit = page_size(requested_size)
    except InvalidPage as exc:
        problems["page_size"] = str(exc)
    try:
        below = decode_page_token(token)
    except InvalidPage as exc:
        problems["page_token"] = str(exc)
    return limit, below, problems
