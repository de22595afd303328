"""Structured JSON logs that never carry tokens, keys or plain person numbers."""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
_JWT = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")
_PERSON_NUMBER = re.compile(r"(?<!\d)\d{11}(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    """Masks anything shaped like a JWT or an 11-digit person number."""
    return _PERSON_NUMBER.sub("<pid>", _JWT.sub("<jwt>", text))


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self._component = component

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "component": self._component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str, ensure_ascii=False))

    def formatException(self, ei: _ExcInfo) -> str:
        """The traceback, but a database error's text is withheld: besides the statement it can
        hold the parameters (unless hidden) and the server's DETAIL, which quotes the values
        ("Key (patient_id)=(...) already exists", "invalid input syntax ...: \"...\"")."""
        exception = traceback.TracebackException(*ei, compact=True)
        for part in _chain(exception):
            if _is_database_error(part.exc_type):
                # `_str` is the one place the text is formatted (CPython 3.11-3.13); no public setter.
                part._str = DATABASE_ERROR_WITHHELD  # type: ignore[attr-defined]
        return "".join(exception.format()).rstrip("\n")


DATABASE_ERROR_WITHHELD = "(text withheld from the log: a database error can quote SQL parameters)"
_DATABASE_MODULES = ("sqlalchemy.", "psycopg", "sqlite3")


def _is_database_error(exc_type: type | None) -> bool:
    if exc_type is None:
        return False
    return any(cls.__module__.startswith(_DATABASE_MODULES) and issubclass(cls, Exception) for cls in exc_type.__mro__)


def _chain(exception: traceback.TracebackException) -> list[traceback.TracebackException]:
    seen: list[traceback.TracebackException] = []
    todo = [exception]
    while todo:
        part = todo.pop()
        if any(part is s for s in seen):
            continue
        seen.append(part)
        todo += [p for p in (part.__cause__, part.__context__) if p is not None]
        todo += list(part.exceptions or ())
    return seen


def configure_logging(component: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
