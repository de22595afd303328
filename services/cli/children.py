"""Child processes that cannot outlive the command that started them.

`samhandling up` and `samhandling cluster` start servers in their own sessions (so that Ctrl-C
reaches only the parent, which stops them in order). A parent that is killed outright (SIGKILL,
OOM killer, a closed terminal's SIGHUP to a parent without handlers) gets no chance to stop them,
and they would keep their ports: the next `make run` then fails with "address already in use".

On Linux every child is therefore started with `prctl(PR_SET_PDEATHSIG)`: the kernel sends it a
signal when the thread that forked it ends. Two details make this airtight:

- The race: the parent may die between `fork` and `prctl`; the child would then never get the
  signal. Right after `prctl` the child compares `getppid()` with the parent's pid recorded before
  the fork, and exits if it has already been re-parented.
- Credentials: the kernel clears the death signal when a process changes its uid or gid, so a
  child that must run as another user (PostgreSQL refuses to run as root) switches user FIRST and
  sets the death signal after, in the same `preexec_fn`. The death signal survives `execve` of an
  ordinary (not set-user-ID) binary.

The death signal is delivered when the forking *thread* ends, not the process: `spawn` therefore
refuses to run outside the main thread. Elsewhere than Linux there is no death signal: children
are still stopped on Ctrl-C and SIGTERM, but not when the parent is killed.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
# Looked up once in the parent: the child must not dlopen/dlsym between fork and exec.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


@dataclass(frozen=True)
class Account:
    """A system user to run a child as (only possible when the parent is root)."""

    name: str
    uid: int
    gid: int

    @classmethod
    def named(cls, name: str) -> Account:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise RuntimeError(f"the system user `{name}` does not exist") from None
        return cls(name, entry.pw_uid, entry.pw_gid)


def tied_to_parent(death_signal: int, account: Account | None = None) -> Callable[[], None]:
    """A `preexec_fn`: become `account` (if given), then die with `death_signal` with the parent."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("children must be started from the main thread (the death signal follows the thread)")
    parent = os.getpid()

    def preexec() -> None:
        if account is not None:
            os.setgroups([])
            os.setgid(account.gid)
            os.setuid(account.uid)
        if _PRCTL is not None and _PRCTL(PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0:
            os._exit(126)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(125)

    return preexec


def spawn(
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    death_signal: int = signal.SIGTERM,
    account: Account | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Starts `argv` in its own session (Ctrl-C reaches only the parent), output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ if env is None else env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=tied_to_parent(death_signal, account),
        )


def stop(child: subprocess.Popen[bytes], stop_signal: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Asks `child` to stop with `stop_signal`; kills it after `timeout` seconds. Returns its exit code."""
    return stop_all([child], stop_signal, timeout)[0]


def stop_all(
    processes: Sequence[subprocess.Popen[bytes]], stop_signal: int = signal.SIGTERM, timeout: float = 10.0
) -> list[int]:
    """Signals every process once (a second SIGTERM could cut a graceful stop short), then waits
    for all of them together; whatever still runs after `timeout` seconds is killed."""
    for child in processes:
        if child.poll() is None:
            child.send_signal(stop_signal)
    deadline = time.monotonic() + timeout
    codes = []
    for child in processes:
        try:
            codes.append(child.wait(max(0.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            child.kill()
            codes.append(child.wait())
    return codes


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting to be reaped does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): kill(0) is all we know
    return state != "Z"
