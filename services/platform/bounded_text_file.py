"""A small UTF-8 text file read with a bound: at most `max_bytes` bytes are read, so a file
that is too large is refused without being read whole. Each caller words its own messages
from the three ways it can fail (unreadable, too large, not text)."""

from __future__ import annotations

from pathlib import Path


class TextFileRefused(ValueError):
    """The file could not be read as text within the bound; `path` names it."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


class TextFileUnreadable(TextFileRefused):
    """Opening or reading failed; `cause` is the OSError."""

    def __init__(self, path: Path, cause: OSError) -> None:
        super().__init__(path)
        self.cause = cause


class TextFileTooLarge(TextFileRefused):
    """The file holds more than `max_bytes` bytes."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path)
        self.max_bytes = max_bytes


class TextFileNotText(TextFileRefused):
    """The bytes are not UTF-8."""


def read_bounded_text(path: Path, max_bytes: int) -> str:
    """The file's whole text, decoded as UTF-8; raises a TextFileRefused subclass instead."""
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise TextFileUnreadable(path, exc) from None
    if len(data) > max_bytes:
        raise TextFileTooLarge(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise TextFileNotText(path) from None
