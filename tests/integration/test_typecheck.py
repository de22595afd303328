"""The type checker gate (docs/development.md "Development"): mypy over gateway/ and services/ with the settings in
pyproject.toml ([tool.mypy]) finds no error, so `make test` catches what `make typecheck` would.
About a minute on a cold cache; .mypy_cache makes later runs fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_error_in_gateway_and_services() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert errors == [], "\n".join(errors)
    assert result.returncode == 0, result.stdout + result.stderr
