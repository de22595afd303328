"""The connection the audit integrator's leader holds its lock on (services.audit.integrator).

The leader's lock is a session advisory lock: it must live on one server session for as long
as the replica leads, and die with it. Behind a transaction pooler (PgBouncer in transaction
mode) a session outlives the client's transaction and is handed to other clients: the lock
would stay held on a server connection any replica might be given next, so two replicas could
lead at once and a dead leader's lock would never be freed. The leader therefore connects on
the backend's *session* URL (`SAMHANDLING_AUDIT_SESSION_DATABASE_URL`, a direct URL; by default
the database URL), on an engine of its own with one connection, so leading never takes a
connection from the pool that serves calls. With a transaction pooler configured and no
session URL named, the audit service refuses to start rather than lead unsafely.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from services.platform.db import make_engine
from services.platform.settings import Settings, SettingsError

COMPONENT = "audit"


def leader_engine(settings: Settings) -> Engine | None:
    """The leader's own engine on PostgreSQL; None on SQLite, where the database's single write
    lock orders the integrators' steps and the store's engine serves."""
    url = settings.session_database_url(COMPONENT)
    if make_url(url).get_backend_name() != "postgresql":
        return None
    if settings.database.transaction_pooler and COMPONENT not in settings.session_database_urls:
        raise SettingsError(
            "behind a transaction pooler the audit log's leader needs a session of its own: set "
            "SAMHANDLING_AUDIT_SESSION_DATABASE_URL to a direct URL of the audit database"
        )
    tuning = replace(
        settings.database.named("samhandling-audit-leader"), pool_size=1, max_overflow=0, transaction_pooler=False
    )
    return make_engine(url, tuning=tuning)
