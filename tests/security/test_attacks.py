"""The attack suite: forged, replayed and misused credentials against the running suite.

Every case asserts the exact status and reason, and that no backend saw the call: backend
server spans carry the gateway's trace context as parent, so an empty set of such spans
during the attack means nothing was forwarded (the in-memory exporter sees every span of
this process). Tokens are real ones from the STS, re-signed with its development key where a
case needs one claim changed, so that only that claim is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from joserfc import jws, jwt
from joserfc.jwk import ECKey
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.main import create_gateway
from samhandling.consent.v1 import consent_pb2, consent_pb2_grpc
from samhandling.summary.v1 import summary_pb2, summary_pb2_grpc
from services.cli.token import Identity, Token, obtain_token
from services.platform.dpop import grpc_target, make_proof
from services.platform.errors import error_info
from services.platform.keys import load_jwk
from services.sts.token_client import CLIENT_ASSERTION_TYPE, build_client_assertion
from tests.fixtures import people
from tests.fixtures.spans import recording_spans
from tests.fixtures.sts import WEB_CALLBACK, Login
from tests.support import Suite, running_suite

pytestmark = pytest.mark.asyncio(loop_scope="module")

PATIENT = people.ESKIL
SUMMARY = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
UNAUTHENTICATED, PERMISSION_DENIED = grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED


@dataclass
class Arena:
    suite: Suite
    exporter: InMemorySpanExporter
    system: str  # demo-ehr bearer token
    personnel: Token  # Lars, DPoP-bound, purpose TREAT
    patient: str  # Eskil's own token
    tmp: Any
    second: grpc.aio.Channel  # a second gateway replica, on the same gateway database

    def backend_calls(self) -> set[str]:
        return {s.name for s in self.exporter.get_finished_spans() if s.kind == SpanKind.SERVER and s.parent}

    def sts_key(self) -> ECKey:
        return load_jwk(self.suite.settings.seeds_dir / "keys" / "sts-signing-1.dev-only.jwk.json", self.suite.settings)

    async def read(self, metadata, gateway: grpc.aio.Channel | None = None) -> None:
        stub = summary_pb2_grpc.PatientSummaryServiceStub(gateway or self.suite.gateway)
        await stub.GetPatientSummary(summary_pb2.GetPatientSummaryRequest(patient_id=PATIENT), metadata=metadata)

    def proof(
        self,
        token: Token,
        *,
        key: ECKey | None = None,
        htm: str = "POST",
        htu: str | None = None,
        access_token: str | None = None,
        now: float | None = None,
    ) -> str:
        target = htu or grpc_target(self.suite.settings.gateway_public_url, SUMMARY)
        return make_proof(key or token.dpop_key, htm, target, access_token=access_token or token.access_token, now=now)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def arena(tmp_path_factory):
    exporter, provider = recording_spans()
    async with running_suite(tmp_path_factory.mktemp("attacks"), provider) as suite:
        system = await suite.token("demo-ehr")
        personnel = await obtain_token(suite.settings, Identity(user=people.LARS, purpose="TREAT"), dpop=True)
        patient = (await obtain_token(suite.settings, Identity(patient=PATIENT))).access_token
        second = create_gateway(suite.settings, provider, address="127.0.0.1:0", http_address="127.0.0.1:0")
        port = await second.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Arena(suite, exporter, system, personnel, patient, tmp_path_factory, channel)
        finally:
            await second.stop(grace=0)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def resigned(
    arena: Arena, token: str, *, header: dict | None = None, drop: tuple[str, ...] = (), key=None, **claims: Any
) -> str:
    """The token with claims changed, signed again with the STS's own key (or `key`)."""
    decoded = jwt.decode(token, arena.sts_key())
    payload = {k: v for k, v in {**decoded.claims, **claims}.items() if k not in drop}
    return jwt.encode({**decoded.header, **(header or {})}, payload, key or arena.sts_key())


def unsigned(token: str, header: dict) -> str:
    """A token with a hand-made header and the original payload, for algorithms joserfc refuses to make."""
    payload = token.split(".")[1]
    return f"{b64(json.dumps(header).encode())}.{payload}"


def hs256_with_public_key(arena: Arena) -> str:
    public = json.dumps(arena.sts_key().as_dict(private=False)).encode()
    header = {"alg": "HS256", "typ": "at+jwt", "kid": arena.sts_key().kid}
    signing_input = unsigned(arena.system, header)
    return f"{signing_input}.{b64(hmac.new(public, signing_input.encode(), hashlib.sha256).digest())}"


def dpop(arena: Arena, access_token: str | None = None, proof: str | None = None) -> tuple[tuple[str, str], ...]:
    token = arena.personnel
    access_token = access_token or token.access_token
    return (("authorization", f"DPoP {access_token}"), ("dpop", proof or arena.proof(token, access_token=access_token)))


def private_proof(arena: Arena) -> str:
    key = arena.personnel.dpop_key
    claims = {
        "jti": secrets.token_hex(8),
        "htm": "POST",
        "iat": int(time.time()),
        "htu": grpc_target(arena.suite.settings.gateway_public_url, SUMMARY),
    }
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=True)}
    return jws.serialize_compact(header, json.dumps(claims), key, algorithms=["ES256"])


def mismatched_jwk_proof(arena: Arena) -> str:
    """A proof whose embedded jwk is the bound key, signed by another key."""
    other = ECKey.generate_key("P-256")
    claims = {
        "jti": secrets.token_hex(8),
        "htm": "POST",
        "iat": int(time.time()),
        "htu": grpc_target(arena.suite.settings.gateway_public_url, SUMMARY),
        "ath": b64(hashlib.sha256(arena.personnel.access_token.encode()).digest()),
    }
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": arena.personnel.dpop_key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(claims), other, algorithms=["ES256"])


Metadata = Callable[[Arena], Any]


def now() -> int:
    """The time when a case runs, not when the module was imported: a slow suite must not age a
    token made 'in the future' into the present."""
    return int(time.time())


# (case, metadata for a summary read, status, reason)
GATEWAY_CASES: list[tuple[str, Metadata, grpc.StatusCode, str]] = [
    ("no token", lambda a: (), UNAUTHENTICATED, "TOKEN_MISSING"),
    (
        "garbage in the authorization header",
        lambda a: (("authorization", "Bearer ::not-a-jwt::"),),
        UNAUTHENTICATED,
        "TOKEN_MALFORMED",
    ),
    ("unknown scheme", lambda a: (("authorization", f"Basic {a.system}"),), UNAUTHENTICATED, "TOKEN_MALFORMED"),
    ("oversized token", lambda a: bearer(a.system + "A" * 20_000), UNAUTHENTICATED, "TOKEN_TOO_LARGE"),
    (
        "alg none",
        lambda a: bearer(unsigned(a.system, {"alg": "none", "typ": "at+jwt"}) + "."),
        UNAUTHENTICATED,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
    ),
    (
        "HS256 signed with the public key",
        lambda a: bearer(hs256_with_public_key(a)),
        UNAUTHENTICATED,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
    ),
    (
        "unknown kid",
        lambda a: bearer(resigned(a, a.system, header={"kid": "no-such-key"})),
        UNAUTHENTICATED,
        "TOKEN_KEY_UNKNOWN",
    ),
    (
        "signature from a key not in the JWKS",
        lambda a: bearer(resigned(a, a.system, key=ECKey.generate_key("P-256"))),
        UNAUTHENTICATED,
        "TOKEN_SIGNATURE_INVALID",
    ),
    (
        "expired",
        lambda a: bearer(resigned(a, a.system, iat=now() - 900, nbf=now() - 900, exp=now() - 300)),
        UNAUTHENTICATED,
        "TOKEN_EXPIRED",
    ),
    (
        "nbf in the future",
        lambda a: bearer(resigned(a, a.system, nbf=now() + 300)),
        UNAUTHENTICATED,
        "TOKEN_NOT_YET_VALID",
    ),
    (
        "wrong iss",
        lambda a: bearer(resigned(a, a.system, iss="https://helseid-sts.test.nhn.no")),
        UNAUTHENTICATED,
        "ISSUER_MISMATCH",
    ),
    (
        "wrong aud",
        lambda a: bearer(resigned(a, a.system, aud="nhn:kjernejournal")),
        UNAUTHENTICATED,
        "AUDIENCE_MISMATCH",
    ),
    (
        "several audiences",
        lambda a: bearer(resigned(a, a.system, aud=["nhn:samhandling", "nhn:kjernejournal"])),
        UNAUTHENTICATED,
        "AUDIENCE_MISMATCH",
    ),
    (
        "wrong typ",
        lambda a: bearer(resigned(a, a.system, header={"typ": "dpop+jwt"})),
        UNAUTHENTICATED,
        "TOKEN_TYPE_INVALID",
    ),
    (
        "missing scope",
        lambda a: bearer(resigned(a, a.system, scope="nhn:samhandling/capacity.read")),
        PERMISSION_DENIED,
        "SCOPE_MISSING",
    ),
    (
        "personnel token with security level 3",
        lambda a: dpop(a, resigned(a, a.personnel.access_token, **{"helseid://claims/identity/security_level": "3"})),
        UNAUTHENTICATED,
        "SECURITY_LEVEL_INSUFFICIENT",
    ),
    (
        "personnel token without HPR number",
        lambda a: dpop(
            a,
            resigned(
                a,
                a.personnel.access_token,
                drop=("helseid://claims/hpr/hpr_number",),
                **{
                    "nhn:tillitsrammeverk:parameters": {
                        "care_relationship": {
                            "purpose_of_use": {"code": "TREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"}
                        }
                    }
                },
            ),
        ),
        PERMISSION_DENIED,
        "PERSONNEL_HPR_MISSING",
    ),
    (
        "DPoP-bound token sent as Bearer",
        lambda a: bearer(a.personnel.access_token),
        UNAUTHENTICATED,
        "DPOP_BOUND_TOKEN_AS_BEARER",
    ),
    (
        "DPoP proof missing",
        lambda a: (("authorization", f"DPoP {a.personnel.access_token}"),),
        UNAUTHENTICATED,
        "DPOP_PROOF_MISSING",
    ),
    (
        "proof made with another key than the bound one",
        lambda a: dpop(a, proof=a.proof(a.personnel, key=ECKey.generate_key("P-256"))),
        UNAUTHENTICATED,
        "DPOP_KEY_MISMATCH",
    ),
    (
        "proof signed by another key than its jwk",
        lambda a: dpop(a, proof=mismatched_jwk_proof(a)),
        UNAUTHENTICATED,
        "DPOP_SIGNATURE_INVALID",
    ),
    ("wrong htm", lambda a: dpop(a, proof=a.proof(a.personnel, htm="GET")), UNAUTHENTICATED, "DPOP_HTM_MISMATCH"),
    (
        "wrong htu",
        lambda a: dpop(
            a,
            proof=a.proof(
                a.personnel,
                htu=grpc_target(
                    a.suite.settings.gateway_public_url, "/samhandling.capacity.v1.CapacityService/GetCapacityOverview"
                ),
            ),
        ),
        UNAUTHENTICATED,
        "DPOP_HTU_MISMATCH",
    ),
    (
        "proof iat outside the window",
        lambda a: dpop(a, proof=a.proof(a.personnel, now=time.time() - 600)),
        UNAUTHENTICATED,
        "DPOP_IAT_OUT_OF_WINDOW",
    ),
    (
        "ath mismatch",
        lambda a: dpop(a, proof=a.proof(a.personnel, access_token=a.system)),
        UNAUTHENTICATED,
        "DPOP_ATH_MISMATCH",
    ),
    ("proof carrying a private key", lambda a: dpop(a, proof=private_proof(a)), UNAUTHENTICATED, "DPOP_KEY_PRIVATE"),
    (
        "DPoP scheme with an unbound token",
        lambda a: (("authorization", f"DPoP {a.system}"), ("dpop", a.proof(Token(a.system, a.personnel.dpop_key)))),
        UNAUTHENTICATED,
        "DPOP_TOKEN_NOT_BOUND",
    ),
    (
        "DPoP-bound client presenting an unbound token",
        lambda a: bearer(resigned(a, a.personnel.access_token, drop=("cnf",))),
        UNAUTHENTICATED,
        "DPOP_REQUIRED",
    ),
    (
        "emergency purpose without justification",
        lambda a: bearer(
            resigned(
                a,
                a.system,
                **{
                    "nhn:tillitsrammeverk:parameters": {
                        "care_relationship": {
                            "purpose_of_use": {"code": "ETREAT", "system": "urn:oid:2.16.840.1.113883.1.11.20448"}
                        }
                    }
                },
            )
        ),
        PERMISSION_DENIED,
        "JUSTIFICATION_REQUIRED",
    ),
]


@pytest.mark.parametrize(("case", "metadata", "code", "reason"), GATEWAY_CASES, ids=[c[0] for c in GATEWAY_CASES])
async def test_gateway_refuses(arena: Arena, case, metadata, code, reason):
    attack = metadata(arena)
    arena.exporter.clear()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await arena.read(attack)
    assert (err.value.code(), error_info(err.value)[0]) == (code, reason)
    assert arena.backend_calls() == set()


async def test_a_replayed_proof_is_refused(arena: Arena):
    metadata = dpop(arena)
    await arena.read(metadata)  # the first use is the honest call
    arena.exporter.clear()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await arena.read(metadata)
    assert (err.value.code(), error_info(err.value)[0]) == (UNAUTHENTICATED, "DPOP_REPLAYED")
    assert arena.backend_calls() == set()


async def test_a_proof_used_at_one_gateway_replica_is_refused_at_another(arena: Arena):
    metadata = dpop(arena)
    await arena.read(metadata)  # the honest call, at the suite's gateway
    arena.exporter.clear()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await arena.read(metadata, arena.second)  # replayed at the other replica
    assert (err.value.code(), error_info(err.value)[0]) == (UNAUTHENTICATED, "DPOP_REPLAYED")
    assert arena.backend_calls() == set()


async def test_a_patient_token_cannot_write_health_data(arena: Arena):
    arena.exporter.clear()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await summary_pb2_grpc.PatientSummaryServiceStub(arena.suite.gateway).RecordVitalSigns(
            summary_pb2.RecordVitalSignsRequest(patient_id=PATIENT), metadata=bearer(arena.patient)
        )
    assert (err.value.code(), error_info(err.value)[0]) == (PERMISSION_DENIED, "PRINCIPAL_NOT_ALLOWED")
    assert arena.backend_calls() == set()


async def test_an_internal_method_is_refused_at_the_gateway(arena: Arena):
    arena.exporter.clear()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await consent_pb2_grpc.ConsentServiceStub(arena.suite.gateway).CheckAccess(
            consent_pb2.CheckAccessRequest(patient_id=PATIENT), metadata=bearer(arena.system)
        )
    assert (err.value.code(), error_info(err.value)[0]) == (PERMISSION_DENIED, "METHOD_NOT_ALLOWED")
    assert arena.backend_calls() == set()


# --- at the STS: no token is issued, so nothing can reach a backend ---


async def sts_form(arena: Arena, assertion: str, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    async with httpx.AsyncClient() as http:
        return await http.post(arena.suite.settings.token_issuer + "/connect/token", data=form)


def client_key(arena: Arena, client_id: str) -> dict:
    path = arena.suite.settings.seeds_dir / "keys" / f"{client_id}.dev-only.jwk.json"
    return load_jwk(path, arena.suite.settings).as_dict(private=True)


async def sts_refuses(arena: Arena, attempt: Callable[[], Awaitable[httpx.Response]], error: str) -> None:
    arena.exporter.clear()
    response = await attempt()
    assert (response.status_code, response.json()["error"]) == (400, error), response.text
    assert "access_token" not in response.json()
    assert arena.backend_calls() == set()


async def test_a_reused_client_assertion_is_refused(arena: Arena):
    assertion = build_client_assertion("demo-ehr", client_key(arena, "demo-ehr"), arena.suite.settings.token_issuer)
    assert (await sts_form(arena, assertion)).status_code == 200
    await sts_refuses(arena, lambda: sts_form(arena, assertion), "invalid_client")


async def test_a_client_assertion_living_over_60_seconds_is_refused(arena: Arena):
    assertion = build_client_assertion(
        "demo-ehr", client_key(arena, "demo-ehr"), arena.suite.settings.token_issuer, lifetime_seconds=120
    )
    await sts_refuses(arena, lambda: sts_form(arena, assertion), "invalid_client")


async def test_a_client_assertion_for_another_audience_is_refused(arena: Arena):
    assertion = build_client_assertion("demo-ehr", client_key(arena, "demo-ehr"), "https://helseid-sts.nhn.no")
    await sts_refuses(arena, lambda: sts_form(arena, assertion), "invalid_client")


@dataclass
class _Sts:
    issuer: str


async def test_a_pkce_verifier_mismatch_is_refused(arena: Arena):
    async with httpx.AsyncClient() as http:
        login = Login(_Sts(arena.suite.settings.token_issuer), http, "samhandling-web", WEB_CALLBACK)
        code = await login.code(PATIENT)
        await sts_refuses(arena, lambda: login.redeem(code, code_verifier=secrets.token_urlsafe(48)), "invalid_grant")


async def test_a_reused_authorization_code_is_refused(arena: Arena):
    async with httpx.AsyncClient() as http:
        login = Login(_Sts(arena.suite.settings.token_issuer), http, "samhandling-web", WEB_CALLBACK)
        code = await login.code(PATIENT)
        assert (await login.redeem(code)).status_code == 200
        await sts_refuses(arena, lambda: login.redeem(code), "invalid_grant")


async def test_the_honest_calls_of_the_same_identities_are_served(arena: Arena):
    """The control group: each identity used above, unmodified, is served."""
    await arena.read(bearer(arena.system))
    await arena.read(dpop(arena))
    assert SUMMARY in arena.backend_calls()
