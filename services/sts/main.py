"""Composition root of the development STS: load clients and keys, bind, serve with uvicorn.

Run as `samhandling serve sts`, or in-process with `StsServer(config).serve(ready)`; with
port 0 the bound port and the issuer derived from it are `StsServer.port` / `StsServer.issuer` once `ready` is set.
`clock` drives every time decision of the STS (tests move it to expire keys and codes).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import time
from collections.abc import Callable

import uvicorn

from services.platform.log_pseudonyms import dev_secret, log_pseudonym_key

from .app import create_app
from .client_registry import load_clients
from .config import StsConfig, StsConfigError
from .key_store import SigningKeys
from .keys import load_private_jwk_file
from .people import load_people

log = logging.getLogger(__name__)


class StsServer:
    def __init__(self, config: StsConfig, clock: Callable[[], float] = time.time) -> None:
        if config.env == "production":
            raise StsConfigError("the development STS refuses to run in production mode (SAMHANDLING_ENV=production)")
        self._config = config
        self._clock = clock
        # Loaded before binding so a broken seed fails fast, before anyone can connect.
        self._clients = load_clients(config.seeds_dir)
        self._people = load_people(config.seeds_dir, _subject_key(config))
        self._signing_keys = SigningKeys.open(config, clock)
        self._id_token_key = load_private_jwk_file(config.id_token_key_path())
        self._log_pseudonym_key = log_pseudonym_key(config.log_pseudonym_key, var_dir=config.var_dir, production=False)
        self._issuer: str | None = None
        self._port: int | None = None
        self._server: _UvicornServer | None = None
        self._stop_requested = False

    @property
    def issuer(self) -> str:
        if self._issuer is None:
            raise RuntimeError("the STS has not bound its socket yet")
        return self._issuer

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the STS has not bound its socket yet")
        return self._port

    async def serve(self, ready: asyncio.Event | None = None) -> None:
        """Serves until `stop()` or cancellation; both shut uvicorn down gracefully."""
        sock = _bind(self._config.host, self._config.port)
        try:
            self._port = sock.getsockname()[1]
            self._issuer = self._config.issuer_for(self._port)
            app = create_app(
                self._issuer,
                self._clients,
                self._people,
                self._signing_keys,
                id_token_key=self._id_token_key,
                token_lifetime_seconds=self._config.token_lifetime_seconds,
                audience=self._config.audience,
                log_pseudonym_key=self._log_pseudonym_key,
                clock=self._clock,
            )
            server = _UvicornServer(
                # No access log: authorization requests carry login hints and attestations
                # (person numbers) in their query strings.
                uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5),
                ready,
            )
            server.should_exit = self._stop_requested
            self._server = server
            log.info("development STS serving issuer %s", self._issuer)
            serving = asyncio.ensure_future(server.serve(sockets=[sock]))
            try:
                await asyncio.shield(serving)
            except asyncio.CancelledError:
                # Let uvicorn finish its own shutdown (close listeners, drain connections).
                server.should_exit = True
                await serving
                raise
        finally:
            sock.close()

    def stop(self) -> None:
        self._stop_requested = True
        if self._server is not None:
            self._server.should_exit = True


class _UvicornServer(uvicorn.Server):
    """Sets `ready` once uvicorn accepts connections (uvicorn itself offers only a flag)."""

    def __init__(self, config: uvicorn.Config, ready: asyncio.Event | None) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._ready is not None:
            self._ready.set()


def _subject_key(config: StsConfig) -> bytes:
    """Subjects stay the same across restarts with a var dir (refresh tokens, clients' accounts);
    without one (tests) they hold for the process."""
    if config.var_dir is None:
        return secrets.token_bytes(32)
    return dev_secret(config.var_dir / "sts" / "subject.dev-only.key")


def _bind(host: str, port: int) -> socket.socket:
    """Binds before uvicorn starts so the actual port (and so the issuer) is known up front."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StsConfigError(f"the STS cannot bind {host}:{port}: {exc.strerror}") from None
    return sock
