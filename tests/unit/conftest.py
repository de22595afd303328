"""The rule of `tests/unit`: pure and fast. A unit test runs in this process alone: it opens no
network socket, starts no server, process or child, and connects to no database (SQLite counts,
in-memory too: a store is tested against the real engines in `tests/integration`, where `db_url`
runs it on SQLite and PostgreSQL). A test that needs any of these belongs in `tests/integration`.

The guard below enforces the rule, so a new impure test fails here instead of slipping in. It
watches Python's audit events (PEP 578) for internet sockets, binds, connects, name lookups,
processes and SQLite, and replaces gRPC's server and channel constructors and psycopg's connect
(C code that raises no audit event) while a unit test's fixtures and body run. Unix socket pairs
stay allowed: every asyncio event loop makes one for its own wake-ups. Collection (imports) and
the session's last teardown (which stops session-wide servers other tiers started) are not
watched."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import grpc
import grpc.aio
import psycopg
import pytest

# Audit events that mean a unit test left its process: a socket, a child, a database.
REFUSED_EVENTS = frozenset({
    "socket.bind", "socket.connect", "socket.getaddrinfo", "socket.sendto",
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "sqlite3.connect",
})
INTERNET = frozenset({socket.AF_INET, socket.AF_INET6})
# C code that opens sockets or databases without an audit event.
REFUSED_CALLS: tuple[tuple[Any, str, str], ...] = (
    (grpc, "server", "start a gRPC server"),
    (grpc, "insecure_channel", "open a gRPC channel"),
    (grpc, "secure_channel", "open a gRPC channel"),
    (grpc.aio, "server", "start a gRPC server"),
    (grpc.aio, "insecure_channel", "open a gRPC channel"),
    (grpc.aio, "secure_channel", "open a gRPC channel"),
    (psycopg, "connect", "connect to PostgreSQL"),
    (psycopg.Connection, "connect", "connect to PostgreSQL"),
    (psycopg.AsyncConnection, "connect", "connect to PostgreSQL"),
)


class ImpureUnitTest(AssertionError):
    """A unit test did what only an integration test may do."""


# What the running unit test did that it may not (None: not watching). A violation is both
# raised where it happens and kept here, so code that swallows the exception cannot hide it.
_violations: list[str] | None = None


def _refuse(what: str) -> NoReturn:
    if _violations is not None:
        _violations.append(what)
    raise ImpureUnitTest(
        f"a unit test may not {what}: tests/unit is pure (tests/unit/conftest.py); "
        "move the test to tests/integration")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _violations is None:
        return
    if event in REFUSED_EVENTS:
        _refuse(f"cause the audit event {event!r}")
    if event == "socket.__new__" and args[1] in INTERNET:
        _refuse("create an internet socket")


# An audit hook cannot be removed; it does nothing while no unit test runs (`_violations` None).
sys.addaudithook(_audit)


def _refusing(what: str) -> Callable[..., NoReturn]:
    def refused(*_args: object, **_kwargs: object) -> NoReturn:
        _refuse(what)
    return refused


@contextmanager
def _watched() -> Iterator[list[str]]:
    global _violations
    saved = [(owner, name, vars(owner).get(name)) for owner, name, _ in REFUSED_CALLS]
    for owner, name, what in REFUSED_CALLS:
        setattr(owner, name, _refusing(what))
    _violations = seen = []
    try:
        yield seen
    finally:
        _violations = None
        for owner, name, original in saved:
            if original is None:  # inherited: uncover the base's again
                delattr(owner, name)
            else:
                setattr(owner, name, original)


def _guarded(item: pytest.Item) -> Generator[None, Any, None]:
    with _watched() as seen:
        outcome = yield
    if seen and outcome.excinfo is None:
        outcome.force_exception(ImpureUnitTest(f"{item.nodeid}: a unit test may not {seen[0]} "
                                               "(tests/unit/conftest.py)"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, Any, None]:
    yield from _guarded(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    yield from _guarded(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    if nextitem is None:  # session-wide fixtures (a PostgreSQL server other tiers used) stop here
        yield
    else:
        yield from _guarded(item)
