"""Typed settings, read once from the environment by each process's composition root."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .db_tuning import DatabaseTuning, TuningError
from .ids import MIN_PSEUDONYM_KEY_BYTES
from .secret_files import SecretFileError, read_secret_file

REPO_ROOT = Path(__file__).resolve().parents[2]

# Default loopback ports of every component (docs/architecture.md "The parts").
DEFAULT_PORTS: dict[str, int] = {
    "sts": 8090,
    "gateway": 50050,
    "gateway_http": 8080,  # the gateway's HTTP port: JSON API and pages
    "consent": 50051,
    "audit": 50052,
    "summary": 50053,
    "capacity": 50054,
}
BACKENDS = ("consent", "audit", "summary", "capacity")
COMPONENTS = ("sts", *BACKENDS, "gateway")


class SettingsError(ValueError):
    """A setting is missing or malformed; the process refuses to start."""


# The longest an escalation level may wait for an acknowledgement (services.summary.escalation_rules
# MAX_ACKNOWLEDGE_WITHIN_HOURS, in minutes; tests/unit/test_escalation_settings.py keeps them equal).
MAX_ESCALATION_ACKNOWLEDGE_MINUTES = 24 * 60


# A measurement measured longer ago than this when recorded escalates nothing (services.summary
# escalation_rules MEASUREMENT_AGE_LIMIT is the default; tests/unit/test_escalation_settings.py keeps them equal).
DEFAULT_MAX_MEASUREMENT_AGE_MINUTES = 6 * 60
MAX_MAX_MEASUREMENT_AGE_MINUTES = 7 * 24 * 60


def _max_measurement_age_minutes(env: Mapping[str, str]) -> int:
    name = "SAMHANDLING_ESCALATION_MAX_MEASUREMENT_AGE"
    text = env.get(name, "").strip()
    if not text:
        return DEFAULT_MAX_MEASUREMENT_AGE_MINUTES
    if not text.isdigit() or not 1 <= int(text) <= MAX_MAX_MEASUREMENT_AGE_MINUTES:
        raise SettingsError(
            f"{name} must be a whole number of minutes from 1 to {MAX_MAX_MEASUREMENT_AGE_MINUTES}, not {text!r}"
        )
    return int(text)


@dataclass(frozen=True)
class EscalationMinutes:
    """Acknowledge-within times of the escalation levels, in whole minutes, most patient first: each
    1 to MAX_ESCALATION_ACKNOWLEDGE_MINUTES, and a more urgent level never waits longer than a less
    urgent one (docs/escalation.md, "Rules")."""

    review: int = 240
    urgent_review: int = 30
    urgent: int = 15
    emergency: int = 5

    VARIABLES = (
        "SAMHANDLING_ESCALATION_ACKNOWLEDGE_REVIEW_MINUTES",
        "SAMHANDLING_ESCALATION_ACKNOWLEDGE_URGENT_REVIEW_MINUTES",
        "SAMHANDLING_ESCALATION_ACKNOWLEDGE_URGENT_MINUTES",
        "SAMHANDLING_ESCALATION_ACKNOWLEDGE_EMERGENCY_MINUTES",
    )

    def values(self) -> tuple[int, int, int, int]:
        return (self.review, self.urgent_review, self.urgent, self.emergency)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EscalationMinutes:
        """Refuses (SettingsError naming the variable) a value that is not a whole number of minutes
        in range, or a level waiting longer than the less urgent one before it."""
        values = []
        for name, default in zip(cls.VARIABLES, cls().values(), strict=True):
            text = env.get(name, "").strip()
            if not text:
                values.append(default)
                continue
            if not text.isdigit() or not 1 <= int(text) <= MAX_ESCALATION_ACKNOWLEDGE_MINUTES:
                raise SettingsError(
                    f"{name} must be a whole number of minutes from 1 to {MAX_ESCALATION_ACKNOWLEDGE_MINUTES}, "
                    f"not {text!r}"
                )
            values.append(int(text))
        for (looser, before), (stricter, after) in itertools.pairwise(zip(cls.VARIABLES, values, strict=True)):
            if after > before:
                raise SettingsError(
                    f"{stricter} ({after}) must not be more than {looser} ({before}): "
                    "a more urgent level never waits longer for an acknowledgement than a less urgent one"
                )
        return cls(*values)


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about its environment.

    `addresses` are where peers reach each component; `listen` overrides where this process
    binds (e.g. 0.0.0.0:50051 in a container) and defaults to its own address.
    """

    env: str = "dev"
    var_dir: Path = REPO_ROOT / "var"
    seeds_dir: Path = REPO_ROOT / "seeds"
    addresses: Mapping[str, str] = field(
        default_factory=lambda: {c: f"127.0.0.1:{p}" for c, p in DEFAULT_PORTS.items()}
    )
    listen: str | None = None
    database_urls: Mapping[str, str] = field(default_factory=dict)
    # Direct URLs for a backend's connections that need a session of their own (LISTEN in
    # services/platform/pg_notify.py, the audit leader's lock in services/audit/leader_engine.py),
    # when its database URL goes through a transaction pooler; unset: the database URL.
    session_database_urls: Mapping[str, str] = field(default_factory=dict)
    token_issuer: str = "http://127.0.0.1:8090"
    token_audience: str = "nhn:samhandling"
    # Production trusts only HelseID's issuers unless another one is named here on purpose.
    custom_issuer_allowed: bool = False
    gateway_public_url: str = "http://127.0.0.1:50050"
    # What clients call the JSON API (DPoP htu base); unset: the URL each request arrives at,
    # which is right on loopback but not behind a TLS-terminating proxy.
    gateway_http_public_url: str | None = None
    # Consent decisions cached in the gateway, safe against revocation (gateway/decision_cache.py).
    decision_cache: bool = True
    # The longest an access token may be valid (exp - iat) for the gateway to accept it (gateway.tokens).
    access_token_max_lifetime_seconds: float = 3600.0
    dpop_bound_clients: frozenset[str] = frozenset()
    consent_receipt_key_file: Path | None = None
    assertion_key_file: Path | None = None
    assertion_public_key_file: Path | None = None
    # The audit log's checkpoint signing key (Ed25519 PKCS#8 PEM) and origin (the log's name in its
    # checkpoints); origin None: the development origin, refused in production (services.audit.signer).
    audit_log_key_file: Path | None = None
    audit_log_origin: str | None = None
    audit_log_vkey: str | None = None  # the pinned verifier key the auditor console checks with
    # Timeouts, keepalives and pool sizes of PostgreSQL connections (services/platform/db_tuning.py).
    database: DatabaseTuning = DatabaseTuning()
    # Transport between the components (services.platform.server, .channels, .tls): connections
    # end after this age so connections are rebalanced (a round_robin channel also resolves its
    # name again; the gateway's replica sets resolve on their own, .replica_set); None: never. The grace
    # bounds calls still open on an aged connection (streams); None: they run to their end.
    grpc_max_connection_age_seconds: float | None = 300.0
    grpc_max_connection_age_grace_seconds: float | None = None
    # On SIGTERM: NOT_SERVING for this long while still serving, then stop (services.cli.serve).
    # From the environment: 5 s in production; 0 in development, where `up` runs one loopback
    # replica of each component that nothing balances over (a local cluster sets it).
    drain_seconds: float = 0.0
    # How often a server checks what its `readiness` health service reports (its database, and
    # for the gateway its consent lease and audit); each check is bounded by half of it
    # (services.platform.readiness).
    readiness_interval_seconds: float = 2.0
    # Where this process also serves grpc.health.v1 alone, in plaintext (Kubernetes' gRPC probes
    # speak no TLS); None: only on its own port (services.platform.server).
    health_listen: str | None = None
    # Worker processes of one component on its ports (SO_REUSEPORT), supervised by the process
    # `samhandling serve` starts (services/cli/worker_supervisor.py, docs/workers.md).
    workers: int = 1
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_auth: bool = False
    # Production refuses plaintext between the gateway and the backends unless a service mesh
    # is declared to provide mTLS around the pods.
    tls_by_mesh: bool = False
    # The secret of log pseudonyms (services/platform/log_pseudonyms.py); required in production.
    # From SAMHANDLING_LOG_PSEUDONYM_KEY or the file SAMHANDLING_LOG_PSEUDONYM_KEY_FILE names.
    log_pseudonym_key: str | None = field(default=None, repr=False)
    # The web pages' login (gateway/web): the two clients at the issuer with their private_key_jwt
    # keys, the one DPoP key every replica binds the sessions' tokens to, and the session limits.
    # Key files None: the seeds' development keys (refused in production).
    web_patient_client_id: str = "samhandling-portal"
    web_patient_client_key_file: Path | None = None
    web_personnel_client_id: str = "samhandling-ansatt"
    web_personnel_client_key_file: Path | None = None
    web_dpop_key_file: Path | None = None
    web_session_idle_seconds: float = 1800.0
    web_session_max_seconds: float = 28800.0
    # NEWS2 escalation (docs/escalation.md): how long each level waits for an acknowledgement, in
    # minutes (product defaults, not RCP figures; REVIEW counts the primary team's opening hours),
    # and the wait between the sweeper's sweeps when nothing more is due; a measurement older than
    # the maximum age (minutes) when recorded escalates nothing.
    escalation_acknowledge_minutes: EscalationMinutes = field(default_factory=EscalationMinutes)
    escalation_sweep_interval_seconds: float = 5.0
    escalation_max_measurement_age_minutes: int = DEFAULT_MAX_MEASUREMENT_AGE_MINUTES

    @property
    def production(self) -> bool:
        return self.env == "production"

    def database_url(self, component: str) -> str:
        return self.database_urls.get(component) or f"sqlite:///{self.var_dir / component}.db"

    def session_database_url(self, component: str) -> str:
        """Where the backend's session-bound connections go: LISTEN, the audit leader's lock."""
        return self.session_database_urls.get(component) or self.database_url(component)

    def listen_address(self, component: str) -> str:
        return self.listen or self.addresses[component]

    def assertion_signing_key(self) -> Path:
        return self.assertion_key_file or self.seeds_dir / "keys" / "gateway-assertion.dev-only.jwk.json"

    def consent_receipt_key(self) -> Path:
        return self.consent_receipt_key_file or self.seeds_dir / "keys" / "consent-receipts.dev-only.jwk.json"

    def audit_log_key(self) -> Path:
        return self.audit_log_key_file or self.seeds_dir / "keys" / "audit-log.dev-only.pem"

    def web_patient_client_key(self) -> Path:
        return self.web_patient_client_key_file or self.seeds_dir / "keys" / "samhandling-portal.dev-only.jwk.json"

    def web_personnel_client_key(self) -> Path:
        return self.web_personnel_client_key_file or self.seeds_dir / "keys" / "samhandling-ansatt.dev-only.jwk.json"

    def web_dpop_key(self) -> Path:
        return self.web_dpop_key_file or self.seeds_dir / "keys" / "samhandling-web-dpop.dev-only.jwk.json"

    def assertion_verification_key(self) -> Path:
        return self.assertion_public_key_file or self.assertion_signing_key()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("SAMHANDLING_ENV", "dev")
        if mode not in ("dev", "production"):
            raise SettingsError(f"SAMHANDLING_ENV must be 'dev' or 'production', not {mode!r}")
        addresses = {c: env.get(f"SAMHANDLING_{c.upper()}_ADDR", f"127.0.0.1:{p}") for c, p in DEFAULT_PORTS.items()}
        databases = {
            c: env[f"SAMHANDLING_{c.upper()}_DATABASE_URL"]
            for c in (*BACKENDS, "gateway")  # the gateway's: its replicas' shared DPoP replay claims
            if env.get(f"SAMHANDLING_{c.upper()}_DATABASE_URL")
        }
        listen_databases = {
            c: env[f"SAMHANDLING_{c.upper()}_SESSION_DATABASE_URL"]
            for c in BACKENDS
            if env.get(f"SAMHANDLING_{c.upper()}_SESSION_DATABASE_URL")
        }
        sts = addresses["sts"]
        try:
            database = DatabaseTuning.from_env(env)
        except TuningError as exc:
            raise SettingsError(str(exc)) from None
        _check_password_file(database, {**databases, **listen_databases})
        return cls(
            env=mode,
            var_dir=Path(env.get("SAMHANDLING_VAR_DIR", REPO_ROOT / "var")),
            seeds_dir=Path(env.get("SAMHANDLING_SEEDS_DIR", REPO_ROOT / "seeds")),
            addresses=addresses,
            listen=env.get("SAMHANDLING_LISTEN") or None,
            database_urls=databases,
            session_database_urls=listen_databases,
            token_issuer=env.get("SAMHANDLING_TOKEN_ISSUER", f"http://{sts}"),
            token_audience=env.get("SAMHANDLING_TOKEN_AUDIENCE", "nhn:samhandling"),
            custom_issuer_allowed=env.get("SAMHANDLING_CUSTOM_ISSUER_ALLOWED", "") == "1",
            gateway_public_url=env.get("SAMHANDLING_GATEWAY_PUBLIC_URL", f"http://{addresses['gateway']}"),
            gateway_http_public_url=env.get("SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL") or None,
            decision_cache=_switch(env, "SAMHANDLING_DECISION_CACHE", default=True),
            access_token_max_lifetime_seconds=_lifetime(env, "SAMHANDLING_ACCESS_TOKEN_MAX_LIFETIME_SECONDS", 3600.0),
            dpop_bound_clients=frozenset(
                c.strip() for c in env.get("SAMHANDLING_DPOP_BOUND_CLIENTS", "").split(",") if c.strip()
            ),
            consent_receipt_key_file=_path(env.get("SAMHANDLING_CONSENT_RECEIPT_KEY_FILE")),
            assertion_key_file=_path(env.get("SAMHANDLING_ASSERTION_KEY_FILE")),
            assertion_public_key_file=_path(env.get("SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE")),
            audit_log_key_file=_path(env.get("SAMHANDLING_AUDIT_LOG_KEY_FILE")),
            audit_log_origin=env.get("SAMHANDLING_AUDIT_LOG_ORIGIN") or None,
            audit_log_vkey=env.get("SAMHANDLING_AUDIT_LOG_VKEY") or None,
            database=database,
            grpc_max_connection_age_seconds=_seconds(env, "SAMHANDLING_GRPC_MAX_CONNECTION_AGE_SECONDS", 300.0),
            grpc_max_connection_age_grace_seconds=_seconds(
                env, "SAMHANDLING_GRPC_MAX_CONNECTION_AGE_GRACE_SECONDS", None
            ),
            drain_seconds=_seconds(env, "SAMHANDLING_DRAIN_SECONDS", 5.0 if mode == "production" else 0.0) or 0.0,
            readiness_interval_seconds=_lifetime(env, "SAMHANDLING_READINESS_INTERVAL_SECONDS", 2.0),
            health_listen=env.get("SAMHANDLING_HEALTH_LISTEN") or None,
            workers=_workers(env.get("SAMHANDLING_WORKERS", "")),
            tls_ca_file=_path(env.get("SAMHANDLING_TLS_CA_FILE")),
            tls_cert_file=_path(env.get("SAMHANDLING_TLS_CERT_FILE")),
            tls_key_file=_path(env.get("SAMHANDLING_TLS_KEY_FILE")),
            tls_client_auth=_client_auth(env.get("SAMHANDLING_TLS_CLIENT_AUTH", "")),
            tls_by_mesh=env.get("SAMHANDLING_TLS_BY_MESH", "") == "1",
            log_pseudonym_key=_log_pseudonym_key(env),
            web_patient_client_id=env.get("SAMHANDLING_WEB_PATIENT_CLIENT_ID") or "samhandling-portal",
            web_patient_client_key_file=_path(env.get("SAMHANDLING_WEB_PATIENT_CLIENT_KEY_FILE")),
            web_personnel_client_id=env.get("SAMHANDLING_WEB_PERSONNEL_CLIENT_ID") or "samhandling-ansatt",
            web_personnel_client_key_file=_path(env.get("SAMHANDLING_WEB_PERSONNEL_CLIENT_KEY_FILE")),
            web_dpop_key_file=_path(env.get("SAMHANDLING_WEB_DPOP_KEY_FILE")),
            web_session_idle_seconds=_lifetime(env, "SAMHANDLING_WEB_SESSION_IDLE_SECONDS", 1800.0),
            web_session_max_seconds=_lifetime(env, "SAMHANDLING_WEB_SESSION_MAX_SECONDS", 28800.0),
            escalation_acknowledge_minutes=EscalationMinutes.from_env(env),
            escalation_sweep_interval_seconds=_lifetime(env, "SAMHANDLING_ESCALATION_SWEEP_INTERVAL_SECONDS", 5.0),
            escalation_max_measurement_age_minutes=_max_measurement_age_minutes(env),
        )


def _log_pseudonym_key(env: Mapping[str, str]) -> str | None:
    """The key from the variable or from its file (one trailing newline stripped), not both.
    One from a file is checked here, where its file is named; the variable's where it is used."""
    value = env.get("SAMHANDLING_LOG_PSEUDONYM_KEY") or None
    path = env.get("SAMHANDLING_LOG_PSEUDONYM_KEY_FILE") or None
    if path is None:
        return value
    if value is not None:
        raise SettingsError("set SAMHANDLING_LOG_PSEUDONYM_KEY or SAMHANDLING_LOG_PSEUDONYM_KEY_FILE, not both")
    try:
        key = read_secret_file(Path(path), "SAMHANDLING_LOG_PSEUDONYM_KEY_FILE")
    except SecretFileError as exc:
        raise SettingsError(str(exc)) from None
    if len(key.encode()) < MIN_PSEUDONYM_KEY_BYTES:
        raise SettingsError(
            f"SAMHANDLING_LOG_PSEUDONYM_KEY_FILE: {path} holds fewer than {MIN_PSEUDONYM_KEY_BYTES} characters"
        )
    return key


def _check_password_file(database: DatabaseTuning, urls: Mapping[str, str]) -> None:
    """With SAMHANDLING_DATABASE_PASSWORD_FILE set, no database URL may carry a password (which
    one would win is a guess), and the file must be readable now: a process refuses to start
    rather than fail on its first connection. The file is read again for every new connection
    (services.platform.db), so a rotated password needs no restart."""
    if database.password_file is None:
        return
    with_password = sorted(c for c, url in urls.items() if _has_password(url))
    if with_password:
        raise SettingsError(
            "SAMHANDLING_DATABASE_PASSWORD_FILE is set and the database URLs of "
            f"{', '.join(with_password)} carry a password too: keep one"
        )
    try:
        read_secret_file(database.password_file, "SAMHANDLING_DATABASE_PASSWORD_FILE")
    except SecretFileError as exc:
        raise SettingsError(str(exc)) from None


def _has_password(url: str) -> bool:
    try:
        return make_url(url).password is not None
    except ArgumentError:  # a malformed URL is refused where its engine is made
        return False


def _switch(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("on", "off"):
        raise SettingsError(f"{name} must be 'on' or 'off', not {value!r}")
    return value == "on"


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _seconds(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    """A duration in seconds; unset: `default`; `none`: no limit."""
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value == "none":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds or 'none', not {value!r}") from None
    if not seconds >= 0 or seconds == float("inf"):
        raise SettingsError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
    return seconds


def _lifetime(env: Mapping[str, str], name: str, default: float) -> float:
    """A cap in seconds that must exist: a positive number, never 'none'."""
    seconds = _seconds(env, name, default)
    if seconds is None or seconds <= 0:
        raise SettingsError(f"{name} must be a positive number of seconds")
    return seconds


MAX_WORKERS = 64  # a bound on the processes one `serve` starts; far above any pod's cores


def _workers(value: str) -> int:
    value = value.strip()
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_WORKERS:
        raise SettingsError(f"SAMHANDLING_WORKERS must be a whole number from 1 to {MAX_WORKERS}, not {value!r}")
    return int(value)


def _client_auth(value: str) -> bool:
    value = value.strip().lower()
    if value not in ("", "none", "require"):
        raise SettingsError(f"SAMHANDLING_TLS_CLIENT_AUTH must be 'none' or 'require', not {value!r}")
    return value == "require"
