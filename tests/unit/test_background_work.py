"""BackgroundWork (services/platform/background.py): a loop on a thread of its own, started once,
stopped by its event (waited for), never started after a stop, and an error it ends with logged."""

from __future__ import annotations

import logging
import threading

from services.platform.background import BackgroundWork


def test_the_loop_runs_until_stopped_and_stop_waits_for_it():
    entered, left = threading.Event(), threading.Event()

    def loop(stop: threading.Event) -> None:
        entered.set()
        stop.wait()
        left.set()

    work = BackgroundWork("loop", loop)
    work.start()
    work.start()  # once
    assert entered.wait(10) and work.running
    work.stop()
    assert left.is_set() and not work.running


def test_stopped_before_it_started_it_never_starts():
    ran = threading.Event()
    work = BackgroundWork("never", lambda stop: ran.set())
    work.stop()
    work.start()
    assert not work.running and not ran.is_set()


def test_an_error_ending_the_loop_is_logged(caplog):
    work = BackgroundWork("failing", lambda stop: 1 / 0)
    with caplog.at_level(logging.ERROR, logger="services.platform.background"):
        work.start()
        work.stop()
    assert [r.getMessage() for r in caplog.records] == ["background work failing ended with an error"]
    assert caplog.records[0].exc_info is not None and caplog.records[0].exc_info[0] is ZeroDivisionError
