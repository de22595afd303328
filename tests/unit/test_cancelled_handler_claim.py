"""A call whose handler was to make its assertion's claim (`Backend.claimed_in_handler`: the audit
log's AppendEvents) and is cancelled meanwhile (its deadline, a disconnect) still uses the
assertion up: the claim is made apart from the cancelled task, and a refusal of it (the handler's
own transaction committed it after all) is no error."""

from __future__ import annotations

import asyncio

import pytest

from services.platform import interceptors
from services.platform.error_reasons import Reason
from services.platform.interceptors import HandlerClaim
from services.platform.replay_store import ReplayTicket


class _Store:
    def sweep_soon(self) -> None:
        pass


async def _cancelled_while_waiting(claim: HandlerClaim) -> None:
    started, never = asyncio.Event(), asyncio.Event()

    async def handler() -> None:
        started.set()
        await never.wait()  # e.g. queued in the group commit

    task = asyncio.ensure_future(interceptors._claimed_in_handler(claim, handler()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.gather(*interceptors._SETTLING)


async def test_a_cancelled_handler_still_makes_its_claim() -> None:
    made: list[str] = []

    async def fallback() -> None:
        made.append("claimed")

    claim = HandlerClaim(ReplayTicket(b"k" * 32, 0), fallback, _Store())  # type: ignore[arg-type]
    await _cancelled_while_waiting(claim)
    assert made == ["claimed"] and claim.is_settled and not interceptors._SETTLING


async def test_a_claim_already_made_by_the_handlers_transaction_is_refused_quietly() -> None:
    async def fallback() -> None:
        raise Reason.ASSERTION_REPLAYED.error("already used")

    claim = HandlerClaim(ReplayTicket(b"k" * 32, 0), fallback, _Store())  # type: ignore[arg-type]
    await _cancelled_while_waiting(claim)  # no error escapes the settling task
    assert not interceptors._SETTLING
