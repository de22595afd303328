"""The bounded read of a small UTF-8 text file (services/platform/bounded_text_file.py) that the
secret files and `samhandling consent check-receipt` share: at most max_bytes, and the three
ways it refuses, each naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.platform.bounded_text_file import (
    TextFileNotText,
    TextFileRefused,
    TextFileTooLarge,
    TextFileUnreadable,
    read_bounded_text,
)


def test_a_file_of_exactly_the_bound_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes("æ".encode() * 5)  # 10 bytes, 5 characters
    assert read_bounded_text(path, 10) == "æ" * 5


def test_one_byte_over_the_bound_is_too_large(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    with pytest.raises(TextFileTooLarge) as refused:
        read_bounded_text(path, 10)
    assert (refused.value.path, refused.value.max_bytes) == (path, 10)


def test_a_missing_file_is_unreadable_with_its_os_error(tmp_path: Path) -> None:
    path = tmp_path / "missing"
    with pytest.raises(TextFileUnreadable) as refused:
        read_bounded_text(path, 10)
    assert refused.value.path == path
    assert isinstance(refused.value.cause, FileNotFoundError)
    assert refused.value.cause.strerror == "No such file or directory"


def test_a_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TextFileUnreadable):
        read_bounded_text(tmp_path, 10)


@pytest.mark.parametrize("data", [b"\xff", b"ok\xc3"])  # not UTF-8; a character cut in two
def test_bytes_that_are_not_utf8_are_not_text(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "f"
    path.write_bytes(data)
    with pytest.raises(TextFileNotText) as refused:
        read_bounded_text(path, 10)
    assert refused.value.path == path


def test_every_refusal_is_one_value_error(tmp_path: Path) -> None:
    assert all(
        issubclass(kind, TextFileRefused) and issubclass(kind, ValueError)
        for kind in (TextFileUnreadable, TextFileTooLarge, TextFileNotText)
    )
