"""The shape checker itself (tests/fixtures/service_shape.py), on small packages made here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.service_shape import shape_violations


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "shapepkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for name in [m for m in sys.modules if m == "shapepkg" or m.startswith("shapepkg.")]:
        del sys.modules[name]


def _write(root: Path, **modules: str) -> None:
    for name, text in modules.items():
        (root / f"{name}.py").write_text(text)


GOOD = {
    "domain": "from dataclasses import dataclass\n",
    "convert": "from samhandling.consent.v1 import consent_pb2\nfrom . import domain\n",
    "use_cases": "from . import domain\nfrom .store import Store\n",
    "store": "import sqlalchemy\nfrom .models import Row\nfrom . import domain\n",
    "models": "import sqlalchemy\n",
    "api": (
        "from typing import TYPE_CHECKING\nimport grpc\nfrom . import convert, use_cases\n"
        "if TYPE_CHECKING:\n    from .store import Store\n"
    ),
    "main": "from .store import Store\nfrom .api import Servicer\n",
}


def test_a_service_in_shape_has_no_violation(package: Path) -> None:
    _write(package, **GOOD)
    assert shape_violations("shapepkg", domain=["domain"]) == []


@pytest.mark.parametrize(
    ("module", "text", "expected"),
    [
        ("domain", "import grpc\n", "shapepkg.domain:2: a domain module imports grpc"),
        ("domain", "from sqlalchemy import select\n", "shapepkg.domain:2: a domain module imports sqlalchemy"),
        ("domain", "from .store import Store\n", "shapepkg.domain:2: a domain module imports the store shapepkg.store"),
        (
            "use_cases",
            "from samhandling.common.v1 import common_pb2\n",
            "a use_cases module imports samhandling.common.v1",
        ),
        ("store", "from google.protobuf import timestamp_pb2\n", "a store module imports google.protobuf"),
        ("convert", "from . import store\n", "a convert module imports the store shapepkg.store"),
        ("api", "from sqlalchemy.orm import Session\n", "an api module imports sqlalchemy.orm"),
        ("api", "from .store import Store\n", "an api module imports the store shapepkg.store"),
        (
            "api",
            "from services.platform.protomap import to_timestamp\n",
            "an api module imports services.platform.protomap",
        ),
        ("api", "def f():\n    from .models import Row\n", "an api module imports the models shapepkg.models"),
    ],
)
def test_each_breach_is_named(package: Path, module: str, text: str, expected: str) -> None:
    _write(package, **{**GOOD, module: GOOD[module] + text})
    violations = shape_violations("shapepkg", domain=["domain"])
    assert any(expected in v for v in violations), violations


def test_a_module_without_a_role_and_a_missing_layer_are_named(package: Path) -> None:
    _write(package, **{k: v for k, v in GOOD.items() if k != "use_cases"}, wire="")
    violations = shape_violations("shapepkg", domain=["domain"])
    assert "shapepkg.wire: no role (name it for its role or declare it domain/infrastructure)" in violations
    assert "shapepkg.use_cases: missing (a service with an api has one)" in violations


def test_a_declared_module_that_is_not_there_is_named(package: Path) -> None:
    _write(package, **GOOD)
    assert shape_violations("shapepkg", domain=["domain", "rules"]) == ["shapepkg.rules: declared but not there"]
