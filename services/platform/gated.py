"""An answer released only once a condition has been met, both running side by side.

The gateway releases a backend's answer only once the read's audit append has succeeded
(gateway/enforcement.py, docs/gateway-request-path.md); a backend releases a read's answer only
once its assertion's `jti` has been claimed (services/platform/interceptors.py,
docs/internal-assertion.md). Both are this one rule."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def released_once(condition: Awaitable[None], answer: Awaitable[T]) -> T:
    """`answer`'s outcome (its result, or the error it raised), released only once `condition`
    has succeeded; both run side by side, each in a task with a copy of the current context.
    The condition's failure is the caller's answer whenever it fails, even after the answer came
    (the answer is dropped), and cancels the answer if it is still being made. An answer's
    failure is raised once the condition has ended (it always runs to its end). Neither task
    outlives this call: a cancelled caller cancels both."""
    meeting = asyncio.ensure_future(condition)
    answering = asyncio.ensure_future(answer)
    try:
        # Returns once the condition has failed, the answer has failed, or both have succeeded.
        await asyncio.wait((meeting, answering), return_when=asyncio.FIRST_EXCEPTION)
        try:
            await meeting  # after the answer's failure it may still run: it runs to its end
        except BaseException:
            if answering.done() and not answering.cancelled():
                answering.exception()  # retrieved: the condition's error is the answer
            raise
        return answering.result()  # done by now; raises the answer's error
    finally:
        pending = [task for task in (meeting, answering) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
