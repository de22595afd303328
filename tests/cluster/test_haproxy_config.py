"""The generated HAProxy configuration is one HAProxy itself accepts."""

from __future__ import annotations

import subprocess

import pytest

from services.cli.cluster import find_haproxy
from services.cli.cluster_plan import make_plan
from services.cli.haproxy_config import render
from services.platform.settings import Settings
from tests.cluster.conftest import require_cluster_binaries

pytestmark = pytest.mark.cluster


def test_haproxy_accepts_the_generated_configuration(tmp_path) -> None:
    require_cluster_binaries()
    config = tmp_path / "haproxy.cfg"
    config.write_text(render(make_plan(Settings().addresses)))
    check = subprocess.run([str(find_haproxy()), "-c", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert "WARNING" not in check.stderr + check.stdout
    # No request line, headers or paths in the logs: paths hold person numbers.
    assert "%r" not in config.read_text() and "%HP" not in config.read_text() and "httplog" not in config.read_text()
