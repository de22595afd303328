"""A throwaway PostgreSQL server started from the locally installed server binaries, for the
tests (`tests/fixtures/postgres.py`) and for `samhandling cluster`.

The server runs in the foreground (`postgres -D`, not `pg_ctl`, not `runuser`) as a direct child
of this process, started through `services.cli.children`: as root it becomes the `postgres` user
(PostgreSQL refuses to run as root) and only then takes its death signal, so it stops when its
parent dies, however the parent dies. SIGINT is PostgreSQL's fast shutdown (sessions are ended,
open transactions rolled back), used both for an orderly stop and as the death signal. It listens
on TCP loopback only (no Unix socket, so a long directory path cannot break it), with trust
authentication: nothing but this machine's processes can reach it, and it holds synthetic data.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import TupleRow

from .children import Account, alive, spawn, stop, tied_to_parent

SUPERUSER = "postgres"
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
INSTALL_HINT = (
    "PostgreSQL server binaries not found (looked for /usr/lib/postgresql/<version>/bin/initdb "
    "and initdb on PATH); install them with `apt-get install postgresql` (Debian/Ubuntu) "
    "or `brew install postgresql` (macOS)"
)
# The cluster is deleted after use, so surviving an OS crash is moot: fsync=off only skips disk
# flushes. synchronous_commit=on keeps COMMIT semantics as in production (WAL written before
# COMMIT returns), so application-level durability (a killed process) behaves as for real.
# Its log names no values: no failing statement's text, no DETAIL (a key that already exists
# would be printed there, and keys hold person numbers).
DEFAULT_OPTIONS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "on",
    "log_error_verbosity": "terse",
    "log_min_error_statement": "panic",
}


@dataclass(frozen=True)
class PostgresServer:
    """A running server reachable over TCP on loopback with trust auth for the superuser."""

    host: str
    port: int
    user: str
    pid: int | None = None  # the postmaster, when this process started it

    def url(self, database: str) -> str:
        """SQLAlchemy URL for one database on this server."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _admin_connect(self) -> psycopg.Connection[TupleRow]:
        # CREATE/DROP DATABASE cannot run inside a transaction block.
        return psycopg.connect(host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True)

    def create_database(self, name: str | None = None) -> str:
        """Creates a database (a fresh `test_<uuid>` unless named) and returns its name."""
        name = name or f"test_{uuid.uuid4().hex}"
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"not a plain database name: {name!r}")
        with self._admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends connections a test left open (e.g. an undisposed engine's pool).
        with self._admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_bin_dir() -> Path | None:
    """The highest installed /usr/lib/postgresql/<version>/bin, else the directory of initdb on PATH."""
    versions = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").is_file()]
    if versions:
        return max(versions, key=lambda d: _version_key(d.parent.name))
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# free_port hands out ports from below the kernel's ephemeral range (Linux:
# net.ipv4.ip_local_port_range, 32768-60999 by default), where the kernel never picks a port for a
# bind to port 0 or for an outgoing connection. A port handed out here is bound a moment later,
# often by a child process; meanwhile no other process's port-0 server or client socket can take
# it, as it could take a port the kernel had picked (tests run beside other tests, e.g. two
# pytest-xdist workers). SAMHANDLING_FREE_PORTS=LOW-HIGH narrows the range, so that processes
# running side by side (the tests give each worker its own) never hand out the same port.
FREE_PORTS_ENV = "SAMHANDLING_FREE_PORTS"
FREE_PORT_FLOOR = 10_000  # the well-known and registered ports below stay untouched
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
ISSUED_LIMIT = 4096  # ports this process handed out recently and will not hand out again
_issued: dict[int, None] = {}  # insertion-ordered: the oldest is forgotten first
_cursor: list[int] = []


def free_port() -> int:
    """A TCP port on loopback, free a moment ago and not handed out by this process recently."""
    span = free_port_range()
    if span is None:  # no room below the ephemeral range: the kernel's pick for port 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            return int(sock.getsockname()[1])
    low, high = span
    if not _cursor or not low <= _cursor[0] <= high:  # first call, or another range named since
        _cursor[:] = [low + int.from_bytes(os.urandom(4), "big") % (high - low + 1)]
    for _ in range(high - low + 1):
        port, _cursor[0] = _cursor[0], low + (_cursor[0] + 1 - low) % (high - low + 1)
        if port in _issued or not _bindable(port):
            continue
        _issued[port] = None
        if len(_issued) > ISSUED_LIMIT:
            del _issued[next(iter(_issued))]
        return port
    raise OSError(f"no free port in {low}-{high}")


def free_port_range(env: Mapping[str, str] = os.environ) -> tuple[int, int] | None:
    """The ports free_port hands out: SAMHANDLING_FREE_PORTS, else from FREE_PORT_FLOOR to just
    below the ephemeral range; None when there is no such room (then the kernel picks)."""
    named = env.get(FREE_PORTS_ENV)
    if named:
        low_text, _, high_text = named.partition("-")
        low, high = int(low_text), int(high_text)
        if not 1024 <= low <= high <= 65535:
            raise ValueError(f"{FREE_PORTS_ENV} must be LOW-HIGH within 1024-65535, not {named!r}")
        return low, high
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return (FREE_PORT_FLOOR, ephemeral_low - 1) if ephemeral_low - FREE_PORT_FLOOR >= 1000 else None


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def server_account() -> Account | None:
    """The user the server runs as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return Account.named(SUPERUSER)
    except RuntimeError:
        raise RuntimeError(f"running as root needs the `{SUPERUSER}` system user to run PostgreSQL") from None


SHM = Path("/dev/shm")
SHM_MIN_FREE_BYTES = 1 << 30


OWNER_FILE = "owner.pid"  # in each scratch directory: the process that made it


def scratch_dir(prefix: str) -> Path:
    """A new private directory for a throwaway data directory: in RAM (/dev/shm, when it is there
    with at least 1 GiB free: initdb and the final delete of thousands of files are then quick),
    else in the system's temporary directory. Never pytest's tmp_path: its parents are private to
    the current user, and `postgres` must reach it. The directories of `prefix` whose maker has
    died without removing them (a `samhandling cluster` killed with SIGKILL; its PostgreSQL dies
    with it, see `tied_to_parent`) are removed first, so they cannot fill the machine's RAM."""
    try:
        usage = shutil.disk_usage(SHM)
    except OSError:
        usage = None
    shm = usage is not None and usage.free >= SHM_MIN_FREE_BYTES and os.access(SHM, os.W_OK)
    parent = SHM if shm else Path(tempfile.gettempdir())
    remove_abandoned(parent, prefix)
    made = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    (made / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    return made


def remove_abandoned(parent: Path, prefix: str) -> list[Path]:
    """Removes the scratch directories of `prefix` under `parent` whose maker (its OWNER_FILE)
    no longer runs; a directory without that file, or with an unreadable one, is left alone.
    Returns those removed."""
    removed = []
    for candidate in parent.glob(f"{prefix}*"):
        try:
            owner = int((candidate / OWNER_FILE).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if owner <= 0 or alive(owner):
            continue
        shutil.rmtree(candidate, ignore_errors=True)
        removed.append(candidate)
    return removed


@contextmanager
def running_server(
    bin_dir: Path,
    *,
    base: Path | None = None,
    port: int | None = None,
    options: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[PostgresServer]:
    """Initialise a fresh cluster in `base` (default: a new temporary directory), start it on
    `port` (default: a free one) and remove the directory on exit. `options` are `-c` settings
    on top of DEFAULT_OPTIONS; the server's log goes to `log` (default: in `base`)."""
    account = server_account()
    if base is None:
        base = scratch_dir("samhandling-pg-")
    else:
        owner = base / OWNER_FILE
        made_by = owner.read_text(encoding="ascii") if owner.is_file() else None  # a scratch_dir's
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        if made_by is not None:
            owner.write_text(made_by, encoding="ascii")
    try:
        if account is not None:
            os.chown(base, account.uid, account.gid)
        data = base / "data"
        log = log or base / "postgres.log"
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            cwd=base,
            check=False,
            capture_output=True,
            text=True,
            preexec_fn=tied_to_parent(signal.SIGKILL, account),
        )
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stderr}")
        port = port or free_port()
        settings = {
            **DEFAULT_OPTIONS,
            **(options or {}),
            "listen_addresses": HOST,
            "port": str(port),
            "unix_socket_directories": "",
        }
        argv = [str(bin_dir / "postgres"), "-D", str(data)]
        for name, value in settings.items():
            argv += ["-c", f"{name}={value}"]
        server = spawn(argv, log_path=log, cwd=base, death_signal=signal.SIGINT, account=account)
        try:
            wait_until_ready(bin_dir, port, server, log)
            yield PostgresServer(host=HOST, port=port, user=SUPERUSER, pid=server.pid)
        finally:
            stop(server, signal.SIGINT, STOP_TIMEOUT_S)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def wait_until_ready(bin_dir: Path, port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-q", "-h", HOST, "-p", str(port), "-U", SUPERUSER, "-t", "1"],
            check=False,
        )
        if ready.returncode == 0:
            return
        # Poll interval that also notices at once when the server dies (e.g. port taken).
        try:
            code = server.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        raise RuntimeError(f"postgres exited with {code} during startup:\n{_tail(log)}")
    raise RuntimeError(f"postgres not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
