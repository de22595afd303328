"""Group commit: calls that arrive while a batch commits share the next transaction; each caller
gets its own results; a failed commit fails every call in its batch and no other."""

from __future__ import annotations

import asyncio
import threading

import pytest

from services.audit.group_commit import GroupCommit


class GatedCommit:
    """A commit function that records its batches and waits for the test to open its gate."""

    def __init__(self, fail_batch: int | None = None) -> None:
        self.batches: list[list[str]] = []
        self.entered = threading.Semaphore(0)
        self.gate = threading.Event()
        self._fail_batch = fail_batch

    def __call__(self, items: list[str]) -> list[str]:
        self.batches.append(items)
        self.entered.release()
        self.gate.wait(timeout=10)
        if len(self.batches) - 1 == self._fail_batch:
            raise RuntimeError("disk full")
        return [f"stored {item}" for item in items]


async def wait_for_commit(commit: GatedCommit) -> None:
    await asyncio.to_thread(commit.entered.acquire, timeout=10)


async def test_calls_arriving_during_a_commit_share_the_next_one():
    commit = GatedCommit()
    group = GroupCommit(commit)
    first = asyncio.create_task(group.submit(["a"]))
    await wait_for_commit(commit)  # "a" is being committed alone
    rest = [asyncio.create_task(group.submit([f"b{i}", f"c{i}"])) for i in range(5)]
    await asyncio.sleep(0)  # let them queue
    commit.gate.set()
    assert await first == ["stored a"]
    assert [await task for task in rest] == [[f"stored b{i}", f"stored c{i}"] for i in range(5)]
    assert commit.batches == [["a"], [x for i in range(5) for x in (f"b{i}", f"c{i}")]]


async def test_a_batch_never_exceeds_its_size_and_never_splits_a_call():
    commit = GatedCommit()
    group = GroupCommit(commit, max_items=4)
    commit.gate.set()
    results = await asyncio.gather(*(group.submit(["x", "y", "z"][: 1 + i % 3]) for i in range(6)))
    assert [len(r) for r in results] == [1, 2, 3, 1, 2, 3]
    assert all(len(batch) <= 4 for batch in commit.batches)
    assert [item for batch in commit.batches for item in batch] == ["x", "x", "y", "x", "y", "z"] * 2


async def test_a_failed_commit_fails_every_call_in_its_batch_only():
    commit = GatedCommit(fail_batch=1)
    group = GroupCommit(commit)
    first = asyncio.create_task(group.submit(["a"]))
    await wait_for_commit(commit)
    doomed = [asyncio.create_task(group.submit([f"b{i}"])) for i in range(3)]
    await asyncio.sleep(0)
    commit.gate.set()
    assert await first == ["stored a"]
    for task in doomed:
        with pytest.raises(RuntimeError, match="disk full"):
            await task
    assert await group.submit(["c"]) == ["stored c"]  # the writer goes on
    assert commit.batches == [["a"], ["b0", "b1", "b2"], ["c"]]


async def test_a_lone_call_commits_alone_and_calls_arriving_during_a_commit_wait_for_the_next():
    commit = GatedCommit()
    group = GroupCommit(commit)
    lone = asyncio.create_task(group.submit(["0"]))
    await wait_for_commit(commit)  # no other call was made: nothing to wait for
    assert commit.batches == [["0"]]
    later = []
    for i in range(1, 4):
        later.append(asyncio.create_task(group.submit([str(i)])))
        await asyncio.sleep(0)  # each call arrives in its own turn of the loop, while "0" commits
    commit.gate.set()
    await asyncio.gather(lone, *later)
    assert commit.batches == [["0"], ["1", "2", "3"]]


@pytest.mark.parametrize("turns", [1, 3], ids=["before-it-ran", "while-committing"])
async def test_a_cancelled_writer_leaves_no_caller_waiting(turns):
    commit = GatedCommit()  # its gate stays shut: the first batch is still committing when cancelled
    group = GroupCommit(commit)
    callers = [asyncio.create_task(group.submit([n])) for n in range(3)]
    for _ in range(turns):
        await asyncio.sleep(0)
    group._writer.cancel()
    results = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), timeout=5)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    commit.gate.set()  # lets the abandoned commit's thread end


async def test_the_queue_is_bounded_and_refuses_at_once_beyond_it():
    from services.audit.group_commit import QueueFull

    commit = GatedCommit()
    group = GroupCommit(commit, max_items=2, max_queued=4)
    first = asyncio.create_task(group.submit(["a"]))
    await wait_for_commit(commit)  # "a" is being committed; what follows waits in the queue
    waiting = [asyncio.create_task(group.submit([f"b{i}", f"c{i}"])) for i in range(2)]
    await asyncio.sleep(0)  # let both calls queue (scheduling, not synchronisation with the commit)
    with pytest.raises(QueueFull):
        await group.submit(["d"])  # 4 items wait: a fifth is refused, nothing queued
    commit.gate.set()
    assert await first == ["stored a"]
    assert [await call for call in waiting] == [["stored b0", "stored c0"], ["stored b1", "stored c1"]]
    assert ["d"] not in commit.batches and await group.submit(["d"]) == ["stored d"]


async def test_a_call_given_up_before_its_batch_is_taken_is_not_committed():
    commit = GatedCommit()
    group = GroupCommit(commit)
    first = asyncio.create_task(group.submit(["a"]))
    await wait_for_commit(commit)
    abandoned = asyncio.create_task(group.submit(["gone"]))
    kept = asyncio.create_task(group.submit(["kept"]))
    await asyncio.sleep(0)  # both queued behind "a"
    abandoned.cancel()
    commit.gate.set()
    assert await first == ["stored a"] and await kept == ["stored kept"]
    assert commit.batches == [["a"], ["kept"]]


async def test_commits_run_on_a_thread_of_their_own_when_the_default_executor_is_busy():
    """Every worker of the loop's default executor is held (as a hundred replay claims hold it
    under load): a call is still committed, by the group commit's own thread."""
    loop = asyncio.get_running_loop()
    held, release = threading.Semaphore(0), threading.Event()

    def hold() -> None:
        held.release()
        release.wait(timeout=10)

    await loop.run_in_executor(None, lambda: None)  # the default executor exists from here on
    workers = loop._default_executor._max_workers  # type: ignore[attr-defined]
    blockers = [loop.run_in_executor(None, hold) for _ in range(workers)]
    for _ in range(workers):
        assert held.acquire(timeout=10)
    threads: list[str] = []

    def commit(items: list[str]) -> list[str]:
        threads.append(threading.current_thread().name)
        return [f"stored {item}" for item in items]

    group = GroupCommit(commit)
    try:
        assert await asyncio.wait_for(group.submit(["a", "b"]), timeout=10) == ["stored a", "stored b"]
        assert len(threads) == 1 and threads[0].startswith("group-commit")
    finally:
        release.set()
        await asyncio.gather(*blockers)
        group.close()


async def test_items_count_for_their_weight_in_a_batch_and_in_the_queue():
    from services.audit.group_commit import QueueFull

    commit = GatedCommit()
    group = GroupCommit(commit, max_items=4, max_queued=6, weight=len)  # an item of n letters weighs n
    first = asyncio.create_task(group.submit(["a"]))
    await wait_for_commit(commit)
    waiting = [asyncio.create_task(group.submit([word])) for word in ("bbb", "cc")]
    await asyncio.sleep(0)  # let both calls queue
    with pytest.raises(QueueFull):
        await group.submit(["dd"])  # 5 letters wait: 2 more would exceed 6
    commit.gate.set()
    assert [await first] + [await call for call in waiting] == [["stored a"], ["stored bbb"], ["stored cc"]]
    assert commit.batches == [["a"], ["bbb"], ["cc"]]  # 3 + 2 letters exceed a batch of 4
