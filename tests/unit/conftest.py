"""The rule of `tests/unit`: pure and fast. A unit test runs in this process alone: it opens no
network socket, starts no server, process or child, and connects to no database (SQLite counts,
in-memory too: a store is tested against the real engines in `tests/integration`, where `db_url`
runs it on SQLite and PostgreSQL). A test that needs any of these belongs in `tests/integration`.

The hooks below enforce the rule (tests/fixtures/purity.py) around each unit test's setup, body
and teardown, module-scoped fixtures included, so a new impure test fails here instead of
slipping in. Collection (imports) and the session's last teardown (which stops session-wide
servers other tiers started) are not watched."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from tests.fixtures.purity import ImpureUnitTest, watched


def _guarded(item: pytest.Item) -> Generator[None, Any, None]:
    with watched() as seen:
        outcome = yield
    if seen and outcome.excinfo is None:
        outcome.force_exception(
            ImpureUnitTest(f"{item.nodeid}: a unit test may not {seen[0]} (tests/unit/conftest.py)")
        )


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
