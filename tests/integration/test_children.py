"""Children started through `services.cli.children` die with their parent, however it dies, also
when they switched to another user first (as PostgreSQL does when we are root)."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from services.cli.children import alive
from tests.fixtures.processes import assert_freed

PARENT = textwrap.dedent("""
    import signal, sys
    from pathlib import Path
    from services.cli.children import Account, spawn
    account = Account.named(sys.argv[1]) if sys.argv[1] else None
    child = spawn(["sleep", "300"], log_path=Path(sys.argv[2]), death_signal=int(sys.argv[3]), account=account)
    print(child.pid, flush=True)
    signal.pause()
""")


def _start(tmp_path: Path, user: str, death_signal: int) -> tuple[subprocess.Popen[str], int]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, user, str(tmp_path / "child.log"), str(death_signal)],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = parent.stdout.readline() if parent.stdout else ""
    assert line.strip().isdigit(), "the parent did not start its child"
    return parent, int(line)


def _uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])


@pytest.mark.skipif(sys.platform != "linux", reason="the death signal is Linux's prctl(PR_SET_PDEATHSIG)")
@pytest.mark.parametrize("as_postgres", [False, True], ids=["same-user", "switched-to-postgres"])
def test_a_child_dies_when_its_parent_is_killed(tmp_path: Path, as_postgres: bool) -> None:
    if as_postgres:
        if os.geteuid() != 0:
            pytest.skip("switching user needs root (the path only `root` takes)")
        try:
            uid = pwd.getpwnam("postgres").pw_uid
        except KeyError:
            pytest.skip("no postgres system user")
    parent, child = _start(tmp_path, "postgres" if as_postgres else "", signal.SIGTERM)
    try:
        assert alive(child)
        if as_postgres:
            assert _uid(child) == uid
        parent.kill()
        parent.wait()
        assert_freed([], [child], within=5)
    finally:
        parent.kill()
        parent.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="the death signal is Linux's prctl(PR_SET_PDEATHSIG)")
def test_without_a_death_signal_the_child_would_survive(tmp_path: Path) -> None:
    """The control: the same parent and child with the death signal cleared (0) leaves an orphan,
    so the test above can fail."""
    parent, child = _start(tmp_path, "", 0)
    try:
        parent.kill()
        parent.wait()
        assert alive(child)
    finally:
        os.kill(child, signal.SIGKILL)
