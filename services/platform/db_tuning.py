"""How every PostgreSQL connection of a process is bounded: timeouts, keepalives and pool sizes.

Pure: the values and the GUCs they become; `services.platform.db` applies them to engines.
SQLite ignores all of this (its one bound is the 30 s busy timeout `make_engine` sets).

Why each default (docs/configuration.md repeats them):

- `statement_timeout` 10 s: the gateway gives every backend call 10 s (gateway/backend_channels.py), so
  a statement still running after that answers nobody. The longest statement on a request path
  is the audit export's bounded read (at most 5000 rows by index); streams run short polls.
- `lock_timeout` 5 s: a caller waiting on a row lock held by a stuck or dead peer (the audit
  head lock, a consent policy row) fails instead of hanging; the gateway then refuses the call,
  which is fail-closed.
- `idle_in_transaction_session_timeout` 5 s: our transactions never wait for a client between
  statements except for in-process work of milliseconds, so a transaction idle that long belongs
  to a process that died or hangs: the server ends it and frees its locks. Together with the two
  above, a pod that dies holding the audit head lock stalls appends for at most about 5 s.
- TCP keepalives (30 s idle, 10 s apart, 3 probes): the client notices a vanished server within
  about a minute instead of the kernel's two hours.
- Pool: every database call runs on the event loop's default executor (`asyncio.to_thread`),
  whose size is min(32, cpu + 4), and holds one connection at a time, so `pool_size` matches it;
  `max_overflow` is headroom for threads outside that executor (a store called from a thread of
  its own, as tests and benches do); 0 makes the pool exactly the executor.
  A call that waits `pool_timeout` for a connection fails rather than queueing without bound.

The password: SAMHANDLING_DATABASE_PASSWORD_FILE names a file the process reads itself and
hands to the driver (never put into a URL, so no URL that is shown or logged can carry it).

Admin work (migrations, seeds) may legitimately run long and wait on locks (a migration waits
on its peers' advisory lock): it uses `ADMIN`, with those three timeouts off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# libpq's TCP keepalives: seconds of silence before the first probe, seconds between probes, probes.
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def default_pool_size() -> int:
    """The size of asyncio's default executor (ThreadPoolExecutor's default max_workers)."""
    return min(32, (os.cpu_count() or 1) + 4)


class TuningError(ValueError):
    """A database setting is malformed."""


@dataclass(frozen=True)
class DatabaseTuning:
    """Bounds of one engine's connections; 0 turns a PostgreSQL timeout off."""

    connect_timeout_s: int = 5
    statement_timeout_ms: int = 10_000
    lock_timeout_ms: int = 5_000
    idle_in_transaction_timeout_ms: int = 5_000
    pool_size: int = 0  # 0: default_pool_size(), decided when an engine is made
    max_overflow: int = 4
    pool_timeout_s: float = 5.0
    # The URL goes through a transaction pooler (PgBouncer pool_mode=transaction): no server-side
    # prepared statements and no session state; the GUCs are set per transaction instead.
    transaction_pooler: bool = False
    application_name: str = "samhandling"
    # The file holding the database password (SAMHANDLING_DATABASE_PASSWORD_FILE, a Secret's
    # file on Kubernetes), read on every new connection (services.platform.db); None: the URL's
    # own password, if any, or none (trust, peer or a libpq passfile).
    password_file: Path | None = None

    def for_admin(self, application_name: str) -> DatabaseTuning:
        """The same connection, for work that may run long and wait on locks (migrations, seeds)."""
        return replace(
            self,
            statement_timeout_ms=0,
            lock_timeout_ms=0,
            idle_in_transaction_timeout_ms=0,
            application_name=application_name,
        )

    def named(self, application_name: str) -> DatabaseTuning:
        return replace(self, application_name=application_name)

    def effective_pool_size(self) -> int:
        return self.pool_size or default_pool_size()

    def server_settings(self) -> dict[str, str]:
        """The GUCs every session or transaction of this engine runs with. synchronous_commit is
        stated, not assumed: a commit returns only once it is flushed to the WAL on disk."""
        return {
            "synchronous_commit": "on",
            "statement_timeout": str(self.statement_timeout_ms),
            "lock_timeout": str(self.lock_timeout_ms),
            "idle_in_transaction_session_timeout": str(self.idle_in_transaction_timeout_ms),
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatabaseTuning:
        defaults = cls()
        return cls(
            connect_timeout_s=_integer(env, "SAMHANDLING_DB_CONNECT_TIMEOUT_S", defaults.connect_timeout_s, least=2),
            statement_timeout_ms=_integer(env, "SAMHANDLING_DB_STATEMENT_TIMEOUT_MS", defaults.statement_timeout_ms),
            lock_timeout_ms=_integer(env, "SAMHANDLING_DB_LOCK_TIMEOUT_MS", defaults.lock_timeout_ms),
            idle_in_transaction_timeout_ms=_integer(
                env, "SAMHANDLING_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", defaults.idle_in_transaction_timeout_ms
            ),
            pool_size=_integer(env, "SAMHANDLING_DB_POOL_SIZE", defaults.pool_size),
            max_overflow=_integer(env, "SAMHANDLING_DB_MAX_OVERFLOW", defaults.max_overflow),
            pool_timeout_s=_seconds(env, "SAMHANDLING_DB_POOL_TIMEOUT_S", defaults.pool_timeout_s),
            transaction_pooler=_flag(env, "SAMHANDLING_DB_TRANSACTION_POOLER"),
            password_file=Path(env["SAMHANDLING_DATABASE_PASSWORD_FILE"])
            if env.get("SAMHANDLING_DATABASE_PASSWORD_FILE")
            else None,
        )


def _integer(env: Mapping[str, str], name: str, default: int, *, least: int = 0) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < least:
        raise TuningError(f"{name} must be a whole number of at least {least}, not {text!r}")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise TuningError(f"{name} must be a positive number of seconds, not {text!r}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value not in ("", "on", "off"):
        raise TuningError(f"{name} must be 'on' or 'off', not {value!r}")
    return value == "on"
