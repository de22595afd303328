"""`samhandling status --gateway URL [--http URL]`: a deployment checked through its public
gateway only, as its clients reach it (an ingress that terminates TLS, or a plaintext port).

What is asked, each one entry of `status`'s output:

- grpc.health.v1 `Check` of the gateway's overall service "" at the gRPC URL;
- `Check` of its `readiness` service (the gateway's database, consent and audit, where the build
  has it); a gateway that answers NOT_FOUND or UNIMPLEMENTED for it has no such service, and
  the answer says so in a note and checks the overall service only;
- with `--http`, the JSON API's readiness route (`GET /healthz/ready`, gateway/http/readiness.py).

Before the calls, each host is reached once with the standard library (TCP, and the TLS
handshake for https): its failure names the cause in one line (the name does not resolve, the
connection is refused, the certificate is not issued by a trusted CA, it does not name the host,
the server does not speak HTTP/2 for gRPC, no answer within the timeout), where gRPC's own error
would not. https checks the certificate against the URL's host name, with the CA of `--ca FILE`
or else the system's roots (the same roots for the handshake, gRPC and HTTP). Every check is
bounded by the timeout (default TIMEOUT_SECONDS). Every connection goes directly to the host:
HTTP proxy settings in the environment are not used (gRPC and httpx would follow them and the
handshake check would not, so the causes could belong to another path).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.http.readiness import READY_PATH

TIMEOUT_SECONDS = 10.0
READINESS_SERVICE = "readiness"  # the probes' service name (services.platform.health)
DEFAULT_PORTS = {"http": 80, "https": 443}
# OpenSSL's verify codes for the causes a user can act on (X509_V_ERR_*).
_UNKNOWN_CA_CODES = {2, 18, 19, 20, 21}  # issuer unknown, self-signed (in chain), no local issuer, one cert only
_EXPIRED_CODES = {9, 10}  # not yet valid, expired
_NAME_MISMATCH_CODES = {62, 64}  # hostname or IP address mismatch
DIRECT = [("grpc.enable_http_proxy", 0)]  # gRPC ignores https_proxy/grpc_proxy (module docstring)


class GatewayUrlError(ValueError):
    """A URL given to `status --gateway`/`--http` that cannot name a gateway."""


class Unreachable(Exception):
    """The host could not be reached; the message names the cause in one line (without the host)."""


@dataclass(frozen=True)
class PublicUrl:
    """A parsed public URL: scheme http or https, host, port (the scheme's default if none), and
    the path prefix (the JSON API may sit under one; gRPC never does)."""

    scheme: str
    host: str
    port: int
    path: str = ""

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def authority(self) -> str:
        """host:port, an IPv6 literal in brackets: what gRPC dials and the output shows."""
        try:
            literal = ipaddress.ip_address(self.host).version == 6
        except ValueError:
            literal = False
        return f"[{self.host}]:{self.port}" if literal else f"{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.authority}{self.path}{path}"


def parse_public_url(url: str, *, grpc_target: bool) -> PublicUrl:
    """Pure: `http(s)://host[:port][/prefix]`; a gRPC URL may have no path."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise GatewayUrlError(f"not a URL: {url!r} ({exc})") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise GatewayUrlError(f"the URL must be http://host[:port] or https://host[:port], not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise GatewayUrlError(f"the URL may hold no user, query or fragment: {url!r}")
    path = parts.path.rstrip("/")
    if grpc_target and path:
        raise GatewayUrlError(f"a gRPC URL has no path: {url!r}")
    return PublicUrl(parts.scheme, parts.hostname, port or DEFAULT_PORTS[parts.scheme], path)


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificates checked against the URL's host name, issued by `ca_file`'s CA or the system's roots."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise GatewayUrlError(f"cannot read the CA file {ca_file}: {getattr(exc, 'strerror', None) or exc}") from None


def root_certificates(ca_file: Path | None) -> bytes | None:
    """The PEM roots gRPC is given: `ca_file`, or the system's bundle (the one the handshake
    check uses, not gRPC's own copy); None if the system names no bundle file (gRPC's own)."""
    if ca_file is not None:
        return ca_file.read_bytes()
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_bytes()
    return None


def describe_tls_failure(exc: ssl.SSLError, host: str) -> str:
    """One line naming why the TLS handshake failed (pure)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code, message = exc.verify_code, exc.verify_message
        if code in _NAME_MISMATCH_CODES:
            return f"TLS: the certificate does not name {host} (name mismatch: {message})"
        if code in _UNKNOWN_CA_CODES:
            return f"TLS: the certificate is not issued by a trusted CA (unknown CA: {message}); give its CA with --ca FILE"
        if code in _EXPIRED_CODES:
            return f"TLS: the certificate is not valid now ({message})"
        return f"TLS: the certificate was refused ({message})"
    reason = exc.reason or str(exc)
    if reason in ("WRONG_VERSION_NUMBER", "UNEXPECTED_EOF_WHILE_READING", "RECORD_LAYER_FAILURE") or "EOF" in str(exc):
        return f"TLS: the handshake failed ({reason}); is this a plaintext port (http://)?"
    return f"TLS: the handshake failed ({reason})"


async def reach(url: PublicUrl, context: ssl.SSLContext | None, timeout: float, *, need_h2: bool) -> None:
    """Connects to the URL's host (and completes the TLS handshake with `context` for https);
    raises Unreachable naming the cause. `need_h2`: the server must agree to HTTP/2 (ALPN),
    without which gRPC over TLS does not work."""
    if context is not None:
        context.set_alpn_protocols(["h2"] if need_h2 else ["http/1.1"])
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(
                url.host,
                url.port,
                ssl=context,
                server_hostname=url.host if context else None,
                ssl_handshake_timeout=timeout if context else None,
            )
    except TimeoutError:
        raise Unreachable(f"no answer within {timeout:g} s") from None
    except ssl.SSLError as exc:
        raise Unreachable(describe_tls_failure(exc, url.host)) from None
    except OSError as exc:  # after the TLS case: SSLError is an OSError too
        raise Unreachable(describe_os_error(exc, url.host)) from None
    try:
        if context is not None and need_h2:
            agreed = writer.get_extra_info("ssl_object").selected_alpn_protocol()
            if agreed != "h2":
                raise Unreachable("the server does not offer HTTP/2 over TLS (ALPN h2), which gRPC needs")
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), timeout)
        except (OSError, TimeoutError, ssl.SSLError):
            pass  # the check is done; a peer that closes badly changes nothing


def describe_os_error(exc: OSError, host: str) -> str:
    """One line for a failed connection (pure)."""
    if isinstance(exc, socket.gaierror):
        return f"the name {host} does not resolve ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused (nothing listens there)"
    if isinstance(exc, ConnectionResetError):
        return "the connection was reset by the peer"
    return exc.strerror or str(exc) or type(exc).__name__


@dataclass(frozen=True)
class Answer:
    """One check's outcome: a ServingStatus name (or UNREACHABLE), and a one-line detail."""

    status: str
    detail: str | None = None


NOT_PRESENT = Answer("NOT_PRESENT")  # the health service has no such name


async def grpc_check(channel: grpc.aio.Channel, service: str, timeout: float) -> Answer:
    """grpc.health.v1 Check of `service`; NOT_PRESENT if the server has no such service."""
    try:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
        if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNIMPLEMENTED) and service:
            return NOT_PRESENT
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return Answer("UNREACHABLE", f"no answer within {timeout:g} s")
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return Answer("UNKNOWN", "no grpc.health.v1 service answers there")
        details = (exc.details() or "").splitlines()
        return Answer("UNREACHABLE", f"{code.name}: {details[0] if details else ''}".rstrip(": "))
    return Answer(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))


async def http_check(url: str, context: ssl.SSLContext | None, timeout: float) -> Answer:
    """GET of the JSON API's readiness route: SERVING on 200, NOT_SERVING on 503, else the HTTP status."""
    try:
        async with httpx.AsyncClient(
            verify=context or False, timeout=timeout, follow_redirects=False, trust_env=False
        ) as http:
            response = await http.get(url)
    except httpx.TimeoutException:
        return Answer("UNREACHABLE", f"no answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return Answer("UNREACHABLE", f"{type(exc).__name__}: {exc}".splitlines()[0])
    if response.status_code == 200:
        return Answer("SERVING")
    if response.status_code == 503:
        return Answer("NOT_SERVING", "HTTP 503")
    return Answer("UNKNOWN", f"HTTP {response.status_code}: not the gateway's readiness route")


@dataclass(frozen=True)
class GatewayCheck:
    """One entry: what was asked (`check`), where (`address`), and the answer."""

    check: str  # health, readiness (both gRPC), http readiness
    protocol: str
    address: str
    answer: Answer


@dataclass(frozen=True)
class GatewayReport:
    checks: list[GatewayCheck]
    notes: list[str]  # what was not checked, and why


async def check_gateway(
    grpc_url: PublicUrl, http_url: PublicUrl | None, ca_file: Path | None, timeout: float
) -> GatewayReport:
    """Every check through the public URLs (module docstring)."""
    notes: list[str] = []
    checks: list[GatewayCheck] = []

    async def grpc_part() -> None:
        where = grpc_url.authority
        try:
            await reach(grpc_url, tls_context(ca_file) if grpc_url.tls else None, timeout, need_h2=True)
        except Unreachable as exc:
            checks.append(GatewayCheck("health", "grpc", where, Answer("UNREACHABLE", str(exc))))
            return
        if grpc_url.tls:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates(ca_file))
            channel = grpc.aio.secure_channel(where, credentials, options=DIRECT)
        else:
            channel = grpc.aio.insecure_channel(where, options=DIRECT)
        async with channel:
            overall, readiness = await asyncio.gather(
                grpc_check(channel, "", timeout), grpc_check(channel, READINESS_SERVICE, timeout)
            )
        checks.append(GatewayCheck("health", "grpc", where, overall))
        if readiness == NOT_PRESENT:
            notes.append("the gateway has no `readiness` health service: only its overall health was checked")
        elif overall.status != "UNREACHABLE" or readiness.status != "UNREACHABLE":
            checks.append(GatewayCheck("readiness", "grpc", where, readiness))

    async def http_part(url: PublicUrl) -> None:
        address = url.url(READY_PATH)
        try:
            await reach(url, tls_context(ca_file) if url.tls else None, timeout, need_h2=False)
        except Unreachable as exc:
            checks.append(GatewayCheck("http readiness", "http", address, Answer("UNREACHABLE", str(exc))))
            return
        answer = await http_check(address, tls_context(ca_file) if url.tls else None, timeout)
        checks.append(GatewayCheck("http readiness", "http", address, answer))

    if http_url is None:
        notes.append("the JSON API was not checked: give its URL with --http")
        await grpc_part()
    else:
        await asyncio.gather(grpc_part(), http_part(http_url))
    order = {"health": 0, "readiness": 1, "http readiness": 2}
    return GatewayReport(sorted(checks, key=lambda c: order[c.check]), notes)
