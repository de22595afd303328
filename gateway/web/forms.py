"""The one parser of the pages' form posts: application/x-www-form-urlencoded in UTF-8 only
(no file uploads, so no multipart), bounded in size, field count and field length, strict
about its percent-encoding. Refusals are the HTTP layer's own: 415 UNSUPPORTED_MEDIA_TYPE,
413 BODY_TOO_LARGE, and 400 INVALID_ARGUMENT with the violation on `form`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import unquote_to_bytes

from services.platform.errors import ServiceError, invalid_argument

from ..http.bodies import is_utf8_media
from ..http.errors import body_too_large, unsupported_media_type

MAX_FORM_BYTES = 64 * 1024
MAX_FIELDS = 200
MAX_NAME_CHARS = 64
MAX_VALUE_CHARS = 4000
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class FormData(Mapping[str, str]):
    """The posted fields in order; `form[name]` and `get` give the first value, `getlist` all."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        self._first: dict[str, str] = {}
        for name, value in items:
            self._first.setdefault(name, value)

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self._items if key == name]

    def items_in_order(self) -> list[tuple[str, str]]:
        return list(self._items)


def is_form(content_type: str) -> bool:
    return is_utf8_media(content_type, FORM_MEDIA_TYPE)


def parse_form(body: bytes, content_type: str) -> FormData:
    """The fields of a form post. An empty body is an empty form, whatever its media type."""
    if not body:
        return FormData([])
    if not is_form(content_type):
        raise unsupported_media_type()
    if len(body) > MAX_FORM_BYTES:
        raise body_too_large(MAX_FORM_BYTES)
    pairs = body.split(b"&")
    if len(pairs) > MAX_FIELDS:
        raise _malformed(f"more than {MAX_FIELDS} fields")
    items: list[tuple[str, str]] = []
    for pair in pairs:
        if not pair:
            continue
        raw_name, equals, raw_value = pair.partition(b"=")
        if not equals:
            raise _malformed("a field without '='")
        name, value = _decode(raw_name), _decode(raw_value)
        if not name:
            raise _malformed("a field without a name")
        if len(name) > MAX_NAME_CHARS or len(value) > MAX_VALUE_CHARS:
            raise _malformed(f"a field name over {MAX_NAME_CHARS} or a value over {MAX_VALUE_CHARS} characters")
        items.append((name, value))
    return FormData(items)


def _decode(raw: bytes) -> str:
    """`+` is a space, `%XX` a byte; a stray `%`, invalid UTF-8 or a control character (other
    than tab, line feed and carriage return, which a textarea sends) is malformed."""
    raw = raw.replace(b"+", b" ")
    for index in range(len(raw)):
        if raw[index] == 0x25 and not _is_hex(raw[index + 1 : index + 3]):
            raise _malformed("a '%' not followed by two hex digits")
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("not UTF-8") from None
    if any((ord(c) < 0x20 and c not in "\t\n\r") or ord(c) == 0x7F for c in text):
        raise _malformed("a control character")
    return text


def _is_hex(two: bytes) -> bool:
    return len(two) == 2 and all(c in b"0123456789abcdefABCDEF" for c in two)


def _malformed(why: str) -> ServiceError:
    return invalid_argument({"form": why})
