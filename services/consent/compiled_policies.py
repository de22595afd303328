"""The compiled rules of the patients decided lately, one entry per patient at the revision it
was compiled for (docs/limits.md: at most MAX_COMPILED_POLICIES patients, least recently
decided dropped first). A policy read at another revision is compiled again and replaces the
entry: every rule change raises the revision, so an entry never decides on old rules. The
representations and the home organisation are not compiled (they change without a revision)
and are read from the policy on every decision."""

from __future__ import annotations

from collections import OrderedDict

from .decision import CompiledRules, Policy, compile_rules

MAX_COMPILED_POLICIES = 10_000


class CompiledPolicies:
    """Used on the event loop only (not thread-safe)."""

    def __init__(self, limit: int = MAX_COMPILED_POLICIES) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, CompiledRules] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def rules(self, policy: Policy) -> CompiledRules:
        """`policy`'s rules compiled, from the cache when compiled at its revision."""
        entries = self._entries
        compiled = entries.get(policy.patient_id)
        if compiled is None or compiled.revision != policy.revision:
            compiled = entries[policy.patient_id] = compile_rules(policy)
            while len(entries) > self._limit:
                entries.popitem(last=False)
        entries.move_to_end(policy.patient_id)
        return compiled
