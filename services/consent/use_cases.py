"""What each request of the consent service does, over the store and domain values: decisions
(with the notification a decision obliges, recorded before the answer), the patient's rules
(validated, committed and published to every decision cache before the answer), their lists,
representations and receipt keys. No proto, no gRPC, no SQL; the store's refusals become the
service's errors here."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from services.platform.actors import Actor
from services.platform.error_reasons import Reason
from services.platform.errors import invalid_argument
from services.platform.vocabulary import ActorKind

from .compiled_policies import CompiledPolicies
from .decision import AccessDecision, Policy, decide_compiled, representation_status, represents
from .domain import (
    MAX_ACTIVE_RULES,
    AccessRequest,
    Notification,
    Representation,
    RepresentationStatus,
    Rule,
    RuleDraft,
    rule_violations,
)
from .notifications import access_notification
from .receipts import ReceiptSigner
from .store import ConsentStore, TooManyRules, UnknownRule

if TYPE_CHECKING:
    from .watch import PolicyChangeHub

log = logging.getLogger(__name__)

R = TypeVar("R")  # what a committed rule change returns


@dataclass(frozen=True)
class Decided:
    decision: AccessDecision
    decision_id: str  # empty for an explanation, which decides nothing
    revision: int  # the patient's policy revision decided on


class ConsentUseCases:
    def __init__(
        self,
        store: ConsentStore,
        hub: PolicyChangeHub,
        receipts: ReceiptSigner,
        *,
        allow_synthetic: bool,
        organisations: Mapping[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._hub = hub
        self._receipts = receipts
        self._allow_synthetic = allow_synthetic
        self._organisations = organisations
        self._clock = clock
        # Each patient's rules compiled once per revision (bounded; see compiled_policies.py).
        self._compiled = CompiledPolicies()

    # --- decisions ----------------------------------------------------------------------

    async def check_access(self, access: AccessRequest) -> Decided:
        # Read fresh on every call: a change is in force as soon as its call has returned.
        policy = await asyncio.to_thread(self._store.policy, access.patient_id)
        return await self._decide(policy, access)

    async def check_accesses(self, accesses: Sequence[AccessRequest]) -> list[Decided]:
        """Requests all about the one asserted patient, decided on one consistent policy."""
        if not accesses:
            return []
        policy = await asyncio.to_thread(self._store.policy, accesses[0].patient_id)
        return [await self._decide(policy, a) for a in accesses]

    async def explain_access(self, access: AccessRequest) -> Decided:
        policy = await asyncio.to_thread(self._store.policy, access.patient_id)
        return Decided(
            decide_compiled(policy, self._compiled.rules(policy), access, self._clock()), "", policy.revision
        )

    async def _decide(self, policy: Policy, access: AccessRequest) -> Decided:
        now = self._clock()
        decision = decide_compiled(policy, self._compiled.rules(policy), access, now)
        decision_id = uuid.uuid4().hex
        # Recorded before the answer: no opening of a restriction goes untold.
        if notification := access_notification(
            uuid.uuid4().hex, access, decision, decision_id, now, self._organisations
        ):
            await asyncio.to_thread(self._store.add_notification, notification)
        return Decided(decision, decision_id, policy.revision)

    # --- the patient's rules ------------------------------------------------------------

    async def author(self, patient_id: str, actor: Actor) -> Actor:
        """`actor`, if it is the patient or a valid representative of them.

        The gateway decided this already (CheckAccess on CONSENT / ACCESS_LOG); checked again
        here so a wrong gateway policy cannot let anyone else manage a patient's rules.
        """
        if actor.kind is ActorKind.PATIENT and actor.pid == patient_id:
            return actor
        representations = await asyncio.to_thread(self._store.representations, patient_id)
        now = self._clock()
        if any(represents(rep, actor, patient_id, now) for rep in representations):
            return actor
        raise Reason.NOT_PATIENT_OR_REPRESENTATIVE.error(
            "only the patient or a valid representative manages these rules"
        )

    async def create_rule(self, draft: RuleDraft, author: Actor, unreadable: dict[str, str]) -> Rule:
        """The new rule, in force at every decision cache; `unreadable` names the request's
        fields that could not even be read (answered with the rule's other violations)."""
        now = self._clock()
        if problems := rule_violations(draft, now, allow_synthetic=self._allow_synthetic) | unreadable:
            raise invalid_argument(problems)
        try:
            return await self._committed_and_published(
                draft.patient_id,
                lambda: self._store.create_rule(draft.content(), author, draft.reason, now, self._receipts.sign),
                lambda rule: rule.policy_revision,
            )
        except TooManyRules:
            raise Reason.RULES_LIMIT.error(
                f"the patient has {MAX_ACTIVE_RULES} rules in force; revoke one before making another",
            ) from None

    async def revoke_rule(self, patient_id: str, rule_id: str, reason: str, author: Actor) -> Rule:
        """The rule's revoking version, in force at every decision cache."""
        now = self._clock()
        try:
            # Published even when the rule was revoked already: a retry after a lost answer must
            # still guarantee that no replica decides on the old rules.
            rule, _ = await self._committed_and_published(
                patient_id,
                lambda: self._store.revoke_rule(patient_id, rule_id, author, reason, now, self._receipts.sign),
                lambda result: result[1],
            )
        except UnknownRule:
            raise Reason.RULE_NOT_FOUND.error("the patient has no rule with this id") from None
        return rule

    async def _committed_and_published(
        self, patient_id: str, change: Callable[[], R], revision_of: Callable[[R], int]
    ) -> R:
        """Commits a rule change (the store enters it in the decision caches' change feed in
        the same transaction, so every consent replica sends it on, even if this process dies
        now) and waits until every cache has applied it or lost its lease. Shielded, so a
        cancelled call (a deadline firing during a slow commit) still finishes the wait; the
        answer, and so the guarantee, comes only after it.

        If the wait fails (the database is lost after the commit), the change stands but is not
        confirmed: the answer is UNAVAILABLE `CHANGE_NOT_CONFIRMED`, never INTERNAL, so the
        caller knows it committed. It is still complete within one lease of the commit: no
        cache is renewed without acknowledging it (watch.py), and without the database none
        is renewed at all. Retrying a revoke publishes again and so confirms it."""

        async def unit() -> R:
            result = await asyncio.to_thread(change)
            try:
                await self._hub.publish(patient_id, revision_of(result))
            except Exception as exc:
                log.warning("rule change committed but not confirmed", extra={"error": exc.__class__.__name__})
                raise Reason.CHANGE_NOT_CONFIRMED.error(
                    "the change is committed, but its arrival at every gateway is not confirmed; it is complete "
                    "at the latest one lease after the commit (a revoke may be retried to confirm it)",
                ) from None
            return result

        return await asyncio.shield(unit())

    async def rules(
        self, patient_id: str, include_revoked: bool, limit: int, below: int | None
    ) -> tuple[list[tuple[int, Rule]], int]:
        return await asyncio.to_thread(self._store.rules, patient_id, include_revoked, limit, below)

    async def history(self, patient_id: str, limit: int, after: int | None) -> list[Rule]:
        return await asyncio.to_thread(self._store.history, patient_id, limit, after)

    async def notifications(self, patient_id: str, below: int | None, limit: int) -> list[tuple[int, Notification]]:
        return await asyncio.to_thread(self._store.notifications, patient_id, below, limit)

    # --- representations and keys -------------------------------------------------------

    async def represented_by(self, pid: str) -> list[tuple[Representation, RepresentationStatus]]:
        """Whom the person `pid` represents, each with the representation's status now."""
        representations = await asyncio.to_thread(self._store.representations_by, pid)
        now = self._clock()
        return [(rep, representation_status(rep, now)) for rep in representations]

    def receipt_keys(self) -> str:
        return self._receipts.jwks_json()
