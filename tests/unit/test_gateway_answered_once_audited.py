"""answered_once_audited: the backend's answer is released only once the audit append has
succeeded; the audit's failure wins whenever it comes; nothing outlives the call. Pure asyncio,
ordered by events (the real servers: tests/integration/test_gateway_audit_beside.py)."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from gateway.enforcement import answered_once_audited
from services.platform.errors import ServiceError, unavailable

AUDIT_ERROR = unavailable("AUDIT_UNAVAILABLE", "not recorded")
BACKEND_ERROR = ServiceError(grpc.StatusCode.NOT_FOUND, "SERVICE_NOT_FOUND", "no such service")


class Step:
    """A coroutine that waits for `go`, then answers or raises; it tells when it started and
    whether it was cancelled."""

    def __init__(self, outcome: object) -> None:
        self.outcome = outcome
        self.go = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = asyncio.Event()
        self.cancelled = False

    async def run(self) -> object:
        self.started.set()
        try:
            await self.go.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        self.finished.set()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


async def ready_tasks_ran() -> None:
    """Lets every task that can run do so (loop passes, no wall-clock): an early answer would come now."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_the_answer_waits_for_the_audit():
    audit, backend = Step(None), Step("answer")
    served = asyncio.create_task(answered_once_audited(audit.run(), backend.run()))
    backend.go.set()
    await backend.finished.wait()
    await ready_tasks_ran()
    assert not served.done()
    audit.go.set()
    assert await served == "answer"


@pytest.mark.parametrize("backend_outcome", ["answer", BACKEND_ERROR], ids=["backend answered", "backend failed"])
async def test_an_audit_failing_after_the_backend_finished_is_the_callers_answer(backend_outcome):
    audit, backend = Step(AUDIT_ERROR), Step(backend_outcome)
    served = asyncio.create_task(answered_once_audited(audit.run(), backend.run()))
    backend.go.set()
    await backend.finished.wait()
    audit.go.set()
    with pytest.raises(ServiceError) as err:
        await served
    assert err.value is AUDIT_ERROR


async def test_an_audit_failing_first_cancels_the_backend_call():
    audit, backend = Step(AUDIT_ERROR), Step("answer")
    served = asyncio.create_task(answered_once_audited(audit.run(), backend.run()))
    await backend.started.wait()
    audit.go.set()
    with pytest.raises(ServiceError) as err:
        await served
    assert err.value is AUDIT_ERROR
    assert backend.cancelled


async def test_a_backend_failure_is_relayed_once_the_audit_is_stored():
    audit, backend = Step(None), Step(BACKEND_ERROR)
    served = asyncio.create_task(answered_once_audited(audit.run(), backend.run()))
    backend.go.set()
    await backend.finished.wait()
    await ready_tasks_ran()
    assert not served.done() and not audit.cancelled  # the failed access is recorded either way
    audit.go.set()
    with pytest.raises(ServiceError) as err:
        await served
    assert err.value is BACKEND_ERROR
    assert audit.finished.is_set()


async def test_a_cancelled_call_leaves_no_task_running():
    audit, backend = Step(None), Step("answer")
    served = asyncio.create_task(answered_once_audited(audit.run(), backend.run()))
    await audit.started.wait()
    await backend.started.wait()
    served.cancel()
    with pytest.raises(asyncio.CancelledError):
        await served
    assert audit.cancelled and backend.cancelled
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not others
