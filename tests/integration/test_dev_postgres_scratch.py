"""Scratch directories of throwaway PostgreSQL servers: one whose maker died without removing
it (a `samhandling cluster` killed with SIGKILL) is removed by the next one made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from services.cli.dev_postgres import OWNER_FILE, remove_abandoned

PREFIX = "samhandling-test-scratch-"


def _made_by(parent: Path, name: str, pid: int | str | None) -> Path:
    directory = parent / f"{PREFIX}{name}"
    (directory / "data").mkdir(parents=True)
    if pid is not None:
        (directory / OWNER_FILE).write_text(str(pid), encoding="ascii")
    return directory


def test_only_directories_whose_maker_has_died_are_removed(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = _made_by(tmp_path, "dead", int(gone.stdout))  # its maker has exited (and been reaped)
    alive = _made_by(tmp_path, "alive", os.getpid())
    unmarked = _made_by(tmp_path, "unmarked", None)
    garbled = _made_by(tmp_path, "garbled", "not a pid")
    other = tmp_path / "other-prefix-dead"
    (other).mkdir()
    (other / OWNER_FILE).write_text(gone.stdout, encoding="ascii")

    assert remove_abandoned(tmp_path, PREFIX) == [dead]
    assert not dead.exists()
    assert alive.exists() and unmarked.exists() and garbled.exists() and other.exists()


def test_a_maker_that_has_exited_but_is_not_yet_reaped_has_died(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, left unreaped: a zombie
        zombie = _made_by(tmp_path, "zombie", child.pid)
        assert remove_abandoned(tmp_path, PREFIX) == [zombie]
    finally:
        child.wait()
