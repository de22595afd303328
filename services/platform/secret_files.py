"""Secrets read from files: the log pseudonym key and the database password.

On Kubernetes every secret reaches a pod as a file from a Secret volume, never as an
environment variable (a variable is visible to everything that can read the pod spec or
/proc/<pid>/environ, is copied into child processes, and never changes while the pod runs).
A Secret's value is usually written with a trailing newline (`echo`, an editor), so one
trailing newline (LF or CRLF) is stripped; nothing else is. An empty file is refused: a secret
that is missing by accident must not become the empty string. Errors name the file, never its
content. Bounded: a file over MAX_SECRET_BYTES is refused rather than read whole.
"""

from __future__ import annotations

from pathlib import Path

from services.platform.bounded_text_file import TextFileNotText, TextFileTooLarge, TextFileUnreadable, read_bounded_text

MAX_SECRET_BYTES = 4096


class SecretFileError(ValueError):
    """A secret file is missing, unreadable, empty, too long or not UTF-8."""


def read_secret_file(path: Path, setting: str) -> str:
    """The file's text without one trailing newline; `setting` names the variable in errors."""
    try:
        text = read_bounded_text(path, MAX_SECRET_BYTES)
    except TextFileUnreadable as exc:
        cause = exc.cause
        raise SecretFileError(f"{setting}: cannot read {path} ({cause.strerror or type(cause).__name__})") from None
    except TextFileTooLarge:
        raise SecretFileError(f"{setting}: {path} is longer than {MAX_SECRET_BYTES} bytes") from None
    except TextFileNotText:
        raise SecretFileError(f"{setting}: {path} is not UTF-8 text") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise SecretFileError(f"{setting}: {path} is empty")
    return text
