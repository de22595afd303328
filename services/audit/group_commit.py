"""Group commit: concurrent appends share one transaction (one fsync), each caller awaiting its own
part of the result.

A writer task runs while there is work: it takes what is queued (up to `max_items`), commits it
in its own worker thread, hands each caller its results, and goes on with what arrived meanwhile. There
is no linger: a lone call is committed at once, and a batch gathers only while a commit is
running, so under load batches grow by themselves and an idle log adds no wait. A failed commit fails every call
in its batch, and the batch is one transaction: nothing of it is stored. A caller that gives up
(cancelled) before its batch is taken is dropped from the queue (it was never acknowledged; a
retry with the same idempotency keys stores it); once taken, its items are committed with the
batch, and a retry finds them. The queue is bounded (`max_queued` items): beyond it a call is
refused at once with QueueFull, so a slow database builds no backlog nobody waits for.

The commits run one at a time, on a thread of the group commit's own, not on the event loop's
default executor: that executor also runs every call's replay claim (services.platform.
replay_store), and at 100 writers a commit queued behind a hundred claims held every one of
its callers back. `close` ends the thread.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class QueueFull(RuntimeError):
    """More items wait for a commit than the queue holds: the call is refused, nothing queued."""


@dataclass
class _Call(Generic[Item, Result]):
    items: list[Item]
    future: asyncio.Future[list[Result]]
    weight: int  # what its items count for against the bounds


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        commit: Callable[[list[Item]], list[Result]],
        *,
        max_items: int = 2000,
        max_queued: int = 20_000,
        weight: Callable[[Item], int] = lambda item: 1,
    ) -> None:
        """`commit` stores items in one transaction and returns one result per item, in order;
        at most `max_items` per transaction, at most `max_queued` waiting for one, counting each
        item as `weight` says (e.g. the events a call carries)."""
        self._commit = commit
        self._weight = weight
        self._max_items = max_items
        self._max_queued = max_queued
        self._queued = 0  # items in the queue
        self._queue: deque[_Call[Item, Result]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")

    def close(self) -> None:
        """Ends the commit thread once the commit in hand, if any, is done (no new one starts)."""
        self._thread.shutdown(wait=False)

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """The results of `items`, once the batch holding them is committed."""
        weight = sum(self._weight(item) for item in items)
        if self._queued + weight > self._max_queued:
            raise QueueFull(f"{self._queued} items already wait for a commit")
        call = _Call(list(items), asyncio.get_running_loop().create_future(), weight)
        self._queue.append(call)
        self._queued += call.weight
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
            self._writer.add_done_callback(self._abandon_queue)
        return await call.future

    def _abandon_queue(self, writer: asyncio.Task[None]) -> None:
        """A writer that ended without draining the queue (cancelled, even before it ran) leaves
        no caller waiting: none was acknowledged, so each retries with its idempotency keys."""
        if writer.cancelled() or writer.exception() is not None:
            for call in self._queue:
                if not call.future.done():
                    call.future.cancel()
            self._queue.clear()
            self._queued = 0

    async def _write(self) -> None:
        batch: list[_Call[Item, Result]] = []
        try:
            while self._queue:
                batch = self._take()
                if not batch:
                    break
                try:
                    # As asyncio.to_thread does it: the commit runs in this task's context.
                    results = await asyncio.get_running_loop().run_in_executor(
                        self._thread,
                        contextvars.copy_context().run,
                        self._commit,
                        [item for call in batch for item in call.items],
                    )
                except Exception as exc:
                    for call in batch:
                        if not call.future.done():
                            call.future.set_exception(exc)
                    batch = []
                    continue
                offset = 0
                for call in batch:
                    if not call.future.done():
                        call.future.set_result(results[offset : offset + len(call.items)])
                    offset += len(call.items)
                batch = []
        except BaseException:
            # The batch in hand is answered here (the queue behind it by _abandon_queue); a batch
            # committed just as the task was cancelled is found again by its idempotency keys.
            for call in batch:
                if not call.future.done():
                    call.future.cancel()
            raise

    def _take(self) -> list[_Call[Item, Result]]:
        """Whole calls still awaited, oldest first, up to max_items items (at least one call if
        any is awaited); calls whose caller gave up are dropped."""
        batch: list[_Call[Item, Result]] = []
        count = 0
        while self._queue and (not batch or count + self._queue[0].weight <= self._max_items):
            call = self._queue.popleft()
            self._queued -= call.weight
            if call.future.done():  # cancelled before it was taken: never acknowledged
                continue
            count += call.weight
            batch.append(call)
        return batch
