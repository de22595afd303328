"""The start-up check of production mode: nothing meant for development may be trusted.

Refused: an issuer over http or on a loopback host (the dev STS), an issuer other than
HelseID's unless SAMHANDLING_CUSTOM_ISSUER_ALLOWED=1, development keys (by content or
location, via load_jwk), a missing or short log pseudonym key
(SAMHANDLING_LOG_PSEUDONYM_KEY or _KEY_FILE, services/platform/log_pseudonyms.py), and a gateway public URL (the DPoP `htu` base) that is not an
https URL on a real host, and plaintext between the gateway and the backends unless a service
mesh is declared to encrypt it (SAMHANDLING_TLS_BY_MESH=1), and web login keys left at
their development defaults or an idle limit above the absolute one. All problems are reported at once,
so one restart fixes them all.

Why TLS is required but mTLS is not: between pods the patient data and the gateway's
assertions cross a network the process does not control, so they must be encrypted and the
backend authenticated (the gateway verifies its certificate against SAMHANDLING_TLS_CA_FILE).
The gateway is already authenticated on every call by its signed assertion, so client
certificates (SAMHANDLING_TLS_CLIENT_AUTH=require) are defence in depth, not a requirement.
A mesh (Istio, Linkerd) that wraps every pod's traffic in mTLS does the same job outside the
process; refusing plaintext there would break such deployments, hence the declaration.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .keys import load_jwk
from .log_pseudonyms import log_pseudonym_key_problems
from .settings import Settings, SettingsError

HELSEID_ISSUERS = frozenset({"https://helseid-sts.nhn.no", "https://helseid-sts.test.nhn.no"})


def check_production(settings: Settings) -> None:
    """Raises SettingsError naming every problem; does nothing outside production mode."""
    if not settings.production:
        return
    if problems := production_problems(settings):
        raise SettingsError("refusing to start in production mode: " + "; ".join(problems))


def check_backend_production(settings: Settings) -> None:
    """A backend in production verifies assertions with the gateway's public key, named on
    purpose: never the gateway's private key file, never a development key."""
    if not settings.production:
        return
    problems = _transport_problems(settings, server=True) + log_pseudonym_key_problems(settings)
    if settings.assertion_public_key_file is None:
        problems.append("SAMHANDLING_ASSERTION_PUBLIC_KEY_FILE must name the gateway's public assertion key")
    else:
        try:
            load_jwk(settings.assertion_public_key_file, settings, private=False)
        except SettingsError as exc:
            problems.append(f"assertion verification key: {exc}")
    if problems:
        raise SettingsError("refusing to start in production mode: " + "; ".join(problems))


def production_problems(settings: Settings) -> list[str]:
    problems = _url_problems("token issuer", settings.token_issuer)
    if settings.token_issuer not in HELSEID_ISSUERS and not settings.custom_issuer_allowed:
        problems.append(
            f"token issuer {settings.token_issuer!r} is not HelseID ({', '.join(sorted(HELSEID_ISSUERS))}); "
            "set SAMHANDLING_CUSTOM_ISSUER_ALLOWED=1 to trust another on purpose"
        )
    problems += _url_problems("gateway public URL", settings.gateway_public_url)
    if settings.gateway_http_public_url is None:
        problems.append("SAMHANDLING_GATEWAY_HTTP_PUBLIC_URL must name the JSON API's public https URL (DPoP htu)")
    else:
        problems += _url_problems("gateway HTTP public URL", settings.gateway_http_public_url)
    try:
        load_jwk(settings.assertion_signing_key(), settings)
    except SettingsError as exc:
        problems.append(f"assertion signing key: {exc}")
    return (
        problems
        + log_pseudonym_key_problems(settings)
        + _transport_problems(settings, server=False)
        + web_problems(settings)
    )


def web_problems(settings: Settings) -> list[str]:
    """The web login's keys: named on purpose (never the seeds' defaults), loadable and not
    development keys; the audit log's verifier key pinned; and an idle limit within the absolute one."""
    problems = []
    for variable, named, path in (
        (
            "SAMHANDLING_WEB_PATIENT_CLIENT_KEY_FILE",
            settings.web_patient_client_key_file,
            settings.web_patient_client_key(),
        ),
        (
            "SAMHANDLING_WEB_PERSONNEL_CLIENT_KEY_FILE",
            settings.web_personnel_client_key_file,
            settings.web_personnel_client_key(),
        ),
        ("SAMHANDLING_WEB_DPOP_KEY_FILE", settings.web_dpop_key_file, settings.web_dpop_key()),
    ):
        if named is None:
            problems.append(f"{variable} must name the web login's key")
            continue
        try:
            load_jwk(path, settings)
        except SettingsError as exc:
            problems.append(f"{variable}: {exc}")
    if settings.audit_log_vkey is None:
        problems.append(
            "SAMHANDLING_AUDIT_LOG_VKEY must pin the audit log's verifier key the auditor console checks with"
        )
    if settings.web_session_idle_seconds > settings.web_session_max_seconds:
        problems.append("SAMHANDLING_WEB_SESSION_IDLE_SECONDS must not exceed SAMHANDLING_WEB_SESSION_MAX_SECONDS")
    return problems


def _transport_problems(settings: Settings, *, server: bool) -> list[str]:
    """Plaintext between the gateway (client) and a backend (server), unless a mesh encrypts it."""
    if settings.tls_by_mesh:
        return []
    if server and settings.tls_cert_file is None:
        return [
            "SAMHANDLING_TLS_CERT_FILE and _KEY_FILE must name this backend's TLS certificate "
            "(or SAMHANDLING_TLS_BY_MESH=1 if a service mesh encrypts traffic between pods)"
        ]
    if not server and settings.tls_ca_file is None:
        return [
            "SAMHANDLING_TLS_CA_FILE must name the CA the backends' certificates are verified with "
            "(or SAMHANDLING_TLS_BY_MESH=1 if a service mesh encrypts traffic between pods)"
        ]
    return []


def _url_problems(what: str, url: str) -> list[str]:
    parts = urlsplit(url)
    problems = []
    if parts.scheme != "https":
        problems.append(f"{what} {url!r} must be an https URL")
    if not parts.hostname:
        problems.append(f"{what} {url!r} names no host")
    elif _is_loopback(parts.hostname):
        problems.append(f"{what} {url!r} is on a loopback host")
    if parts.query or parts.fragment or parts.username or parts.password:
        problems.append(f"{what} {url!r} must not carry credentials, a query or a fragment")
    return problems


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
