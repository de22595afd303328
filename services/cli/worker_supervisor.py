"""Several worker processes of one component on its ports (`SAMHANDLING_WORKERS`, docs/workers.md).

`samhandling serve <component>` with `SAMHANDLING_WORKERS=N` above 1 does not serve itself: it
starts N workers, each a fresh interpreter running the same `serve` command (never a fork of
this process: gRPC must not be forked once initialised, services/cli/main.py), and supervises
them. Every worker binds the component's ports itself; gRPC sets SO_REUSEPORT on its listening
sockets (`grpc.so_reuseport`, services.platform.server), the gateway's JSON API socket sets it
when workers are configured (gateway/http/server.py), so the kernel spreads incoming
connections over the workers. Each worker is a replica in every respect: its own database
pools, replay claims in the shared database, its own decision-cache lease, its own audit group
commit and leader candidacy.

The supervisor:

- forwards the first SIGTERM or SIGINT to every worker, once (each then drains and stops as
  `serve` does), waits for all of them, and exits 0 if all stopped cleanly; workers still running
  `STOP_MARGIN_SECONDS` after the drain and the calls' grace are killed;
- when a worker exits without being asked to, stops the others the same way and exits non-zero
  (the worker's own status if it gave one, else 1): the container restarts and the restart is
  visible, instead of a pod that silently serves with fewer workers;
- leaves no worker behind: each is started with the parent death signal SIGKILL
  (services.cli.children.tied_to_parent), so a supervisor killed outright takes its workers
  with it, and in a session of its own, so a terminal's Ctrl-C reaches only the supervisor,
  which forwards exactly one stop.

Workers are told apart by `SAMHANDLING_WORKER_INDEX` (0..N-1), which the supervisor sets and
which makes a `serve` process serve instead of supervising; it is named in their logs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

from services.platform.server import GRACE_SECONDS

from .children import tied_to_parent

log = logging.getLogger(__name__)

WORKER_INDEX = "SAMHANDLING_WORKER_INDEX"
# After the drain and the 5 s grace for calls in flight: the time a worker has to release its
# databases and exit before it is killed.
STOP_MARGIN_SECONDS = 10.0


def worker_index(environ: Mapping[str, str] | None = None) -> int | None:
    """This process's worker number, or None when it is not a supervised worker."""
    value = (os.environ if environ is None else environ).get(WORKER_INDEX, "")
    return int(value) if value.isdigit() else None


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes]


def worker_command(component: str) -> list[str]:
    """The command each worker runs: the same `serve`, in a fresh interpreter."""
    return [sys.executable, "-m", "services.cli.main", "serve", component]


def supervise(component: str, workers: int, drain_seconds: float, command: Sequence[str] | None = None) -> int:
    """Starts `workers` workers of `component` and supervises them until they have all stopped;
    returns the exit status for `serve` (module docstring)."""
    running: dict[int, _Worker] = {}
    stopping = False
    failed = 0

    def stop_all(reason: str) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        log.info("stopping workers", extra={"component": component, "reason": reason, "workers": len(running)})
        for worker in running.values():
            _signal(worker.process.pid, signal.SIGTERM)
        # The alarm bounds the stop: drain, grace for calls in flight, then time to exit.
        signal.alarm(max(1, int(drain_seconds + GRACE_SECONDS + STOP_MARGIN_SECONDS + 0.999)))

    def on_stop_signal(signum: int, _frame: FrameType | None) -> None:
        stop_all(signal.Signals(signum).name)

    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        for worker in running.values():
            log.error(
                "worker killed: it did not stop in time", extra={"worker": worker.index, "pid": worker.process.pid}
            )
            _signal(worker.process.pid, signal.SIGKILL)

    previous = {s: signal.signal(s, on_stop_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    previous_alarm = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for index in range(workers):
            if stopping:  # a stop signal came while workers were being started
                break
            process = subprocess.Popen(
                list(command or worker_command(component)),
                env={**os.environ, WORKER_INDEX: str(index)},
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=tied_to_parent(signal.SIGKILL),
            )
            running[process.pid] = _Worker(index, process)
            log.info("worker started", extra={"component": component, "worker": index, "pid": process.pid})
        while running:
            pid, status = _wait_any()
            worker = running.pop(pid, None)
            if worker is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            worker.process.returncode = code  # reaped here; Popen must not wait for it again
            if not stopping:
                log.error(
                    "worker exited unasked",
                    extra={"component": component, "worker": worker.index, "pid": pid, "status": code},
                )
                failed = code if code > 0 else 1
                stop_all("a worker exited")
            elif code not in (0, -signal.SIGTERM):  # -SIGTERM: stopped before its handlers were set
                log.error("worker stopped with an error", extra={"worker": worker.index, "pid": pid, "status": code})
                failed = failed or (code if code > 0 else 1)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous_alarm)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for worker in running.values():  # only on an error in the supervisor itself
            _signal(worker.process.pid, signal.SIGKILL)
            worker.process.wait()
    log.info("workers stopped", extra={"component": component, "status": failed})
    return failed


def _wait_any() -> tuple[int, int]:
    """The next child to end (pid, wait status); a signal handler runs during the wait
    (PEP 475 resumes it)."""
    return os.waitpid(-1, 0)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:  # ended meanwhile; reaped by the loop
        pass
