"""The gateway's decision-cache metrics (docs/observability.md), observed from the cache's own
counters when the exporter collects; nothing on the request path.

- `samhandling.gateway.decision_cache.lookups` (observable counter; `result`: hit, miss):
  cache lookups under a held lease (without a lease nothing is looked up; every decision is
  asked fresh).
- `samhandling.gateway.consent_lease.held` (observable gauge, 1 or 0): whether the cache holds
  its lease from a consent replica now; 0 also when the cache is off.

Bounded: one attribute, from a fixed set. Summed over the caches of this process (one in a
gateway; tests run several).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from .decision_cache import DecisionCache

_caches: weakref.WeakSet[DecisionCache] = weakref.WeakSet()


def observe(cache: DecisionCache) -> None:
    """Reports `cache` in the metrics from now on, for as long as it exists."""
    _caches.add(cache)


def _lookups(options: CallbackOptions) -> Iterable[Observation]:
    caches = list(_caches)
    return [
        Observation(sum(c.stats.hits for c in caches), {"result": "hit"}),
        Observation(sum(c.stats.misses for c in caches), {"result": "miss"}),
    ]


def _lease(options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(int(any(c.enabled and c.holds_lease() for c in list(_caches))))]


_meter = metrics.get_meter("samhandling.gateway")
_meter.create_observable_counter(
    "samhandling.gateway.decision_cache.lookups",
    callbacks=[_lookups],
    unit="{lookup}",
    description="decision cache lookups under a lease, by result",
)
_meter.create_observable_gauge(
    "samhandling.gateway.consent_lease.held",
    callbacks=[_lease],
    unit="1",
    description="1 while the decision cache holds its consent lease, else 0",
)
