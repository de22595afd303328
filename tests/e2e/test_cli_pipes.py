"""`samhandling` in a pipe whose reader has gone away (`samhandling call ... | head`) exits quietly:
no BrokenPipeError traceback on stderr."""

from __future__ import annotations

import subprocess
import sys

from services.platform.settings import REPO_ROOT


def test_a_closed_pipe_ends_the_command_quietly(tmp_path) -> None:
    # `status --json` prints after asking every component (none runs here), so the reader is
    # gone before the first write.
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "status", "--json"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "SAMHANDLING_VAR_DIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
