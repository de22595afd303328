"""Bounds of list answers, pure: page sizes and opaque page tokens (AIP-158) of every List RPC,
and the byte budget that keeps any answer under gRPC's message limit.

Every number a client sends for paging is range-checked here, where it is parsed: a page size,
a page token (its length, its form and the position it carries, which must fit the databases'
64-bit integers) and a position to resume after."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# The largest position a token may carry: SQLite's INTEGER and PostgreSQL's BIGINT are signed 64-bit.
MAX_POSITION = 2**63 - 1
# A token of ours is base64 of "v1:" and at most 19 digits (32 characters); anything longer is foreign.
MAX_TOKEN_CHARS = 64
# gRPC's default message limit is 4 MiB at every hop (backend, gateway, client). The items of one
# answer stay under this budget, leaving room for the rest of the message and its framing.
MAX_ANSWER_BYTES = 3_500_000
_TOKEN = re.compile(r"v1:([1-9][0-9]{0,18})")

T = TypeVar("T")


class InvalidPage(ValueError):
    """A page size or token is out of range or malformed; the message is safe to show."""


def page_size(requested: int, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    if requested == 0:
        return default
    if not 1 <= requested <= maximum:
        raise InvalidPage(f"1-{maximum}, or 0 for {default}")
    return requested


def encode_page_token(last_position: int) -> str:
    """Token that continues past the last position returned; versioned so its content may change."""
    return base64.urlsafe_b64encode(f"v1:{last_position}".encode()).decode()


def decode_page_token(token: str) -> int | None:
    """The position to continue past; None for the first page."""
    if not token:
        return None
    match = None
    if len(token) <= MAX_TOKEN_CHARS:
        try:
            match = _TOKEN.fullmatch(base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii"))
        except (UnicodeError, binascii.Error, ValueError):
            match = None
    if match is None or int(match.group(1)) > MAX_POSITION:
        raise InvalidPage("not a token from a previous response")
    return int(match.group(1))


def page_violations(
    requested_size: int,
    token: str,
    *,
    default: int = DEFAULT_PAGE_SIZE,
    maximum: int = MAX_PAGE_SIZE,
) -> tuple[int, int | None, dict[str, str]]:
    """(page size, position to continue past, field violations) of a list request."""
    problems: dict[str, str] = {}
    limit, after = default, None
    try:
        limit = page_size(requested_size, default, maximum)
    except InvalidPage as exc:
        problems["page_size"] = str(exc)
    try:
        after = decode_page_token(token)
    except InvalidPage as exc:
        problems["page_token"] = str(exc)
    return limit, after, problems


def resume_violation(resume_after: int, head: int) -> str | None:
    """Why a position to resume a watch after is refused (0 starts afresh), or None."""
    if not 0 <= resume_after <= MAX_POSITION:
        return "0 for a snapshot, or a position received before"
    if resume_after > head:
        return f"beyond the newest position ({head})"
    return None


def sequence_violations(sequence: int | str, path: str = "sequence") -> dict[str, str]:
    """{path: why} unless `sequence` names an event of a log (positions count from 1): a proto
    field's int, or a URL path's text (ASCII digits, at most 18, so it fits the databases' integers)."""
    if isinstance(sequence, str):
        positive = sequence.isascii() and sequence.isdigit() and len(sequence) <= 18 and int(sequence) >= 1
    else:
        positive = sequence >= 1
    return {} if positive else {path: "a positive sequence number"}


def fitting(items: Sequence[T], size: Callable[[T], int], budget: int = MAX_ANSWER_BYTES) -> int:
    """How many leading items fit in `budget` bytes (each item's encoded size by `size`); at
    least one when there is one, since every kind of item is bounded far below the budget."""
    used = 0
    for count, item in enumerate(items):
        used += size(item)
        if used > budget and count:
            return count
    return len(items)


class _Sized(Protocol):
    def ByteSize(self) -> int: ...


M = TypeVar("M", bound=_Sized)


def page(messages: Sequence[M], positions: Sequence[int], fetched_more: bool) -> tuple[list[M], str]:
    """The messages of one page (up to `limit` were built from `limit` + 1 fetched, `positions`
    their keys) that fit the byte budget, and the token past the last of them: empty when none
    is left, i.e. nothing more was fetched and everything fitted."""
    count = fitting(messages, lambda m: m.ByteSize())
    more = fetched_more or count < len(messages)
    return list(messages[:count]), encode_page_token(positions[count - 1]) if more and count else ""


def newest_fitting(messages: Sequence[M]) -> tuple[list[M], bool]:
    """Of messages oldest first (a range capped by count, e.g. ListVitalSigns), the newest that
    fit the byte budget, and whether older ones were left out for it."""
    count = fitting(list(reversed(messages)), lambda m: m.ByteSize())
    return list(messages[len(messages) - count :]), count < len(messages)
