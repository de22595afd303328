"""From call metadata to a Principal (gateway/authentication.py): the authorization scheme,
DPoP binding to the gRPC call, DPoP-bound clients, and the security log. The token
validator is a stub here (tests/unit/test_gateway_tokens.py covers it); proofs are real."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import grpc
import pytest
from joserfc.jwk import ECKey

from gateway.authentication import MAX_AUTHORIZATION_BYTES, Authenticator
from gateway.calls import IncomingCall
from gateway.main import dpop_bound_clients
from gateway.principal import ORGNR_PARENT
from services.platform.dpop import DpopVerifier, grpc_target, make_proof
from services.platform.errors import ServiceError
from services.platform.replay import InProcessClaims, ReplayStoreUnavailable
from services.platform.settings import Settings, SettingsError

PUBLIC_URL = "https://samhandling.example.no"
METHOD = "/samhandling.summary.v1.PatientSummaryService/GetPatientSummary"
HTU = grpc_target(PUBLIC_URL, METHOD)
NOW = 1_800_000_000
KEY = ECKey.generate_key("P-256")
BOUND, UNBOUND = "bound.access.token", "plain.access.token"
PROOF_PREFIX = "eyJ"  # every compact JWS starts so; used to check the log holds none


class StubTokens:
    """Claims per token string, as TokenValidator would return them."""

    def __init__(self, client_id: str = "demo-ehr") -> None:
        base = {"client_id": client_id, "scope": "", ORGNR_PARENT: "910000012", "exp": NOW + 600}
        self.claims = {BOUND: {**base, "cnf": {"jkt": KEY.thumbprint()}}, UNBOUND: base}

    async def validate(self, token: str) -> dict:
        return dict(self.claims[token])


class UnavailableClaims:
    async def claim(self, key: str, expires_at: float) -> bool:
        raise ReplayStoreUnavailable


def authenticator(client_id: str = "demo-ehr", bound_clients=frozenset(), replay=None) -> Authenticator:
    return Authenticator(
        StubTokens(client_id),
        DpopVerifier(clock=lambda: NOW),
        replay=replay or InProcessClaims(),
        public_url=PUBLIC_URL,
        dpop_bound_clients=bound_clients,
        allow_synthetic=True,
    )


def proof(key=KEY, htm="POST", htu=HTU, token=BOUND) -> str:
    return make_proof(key, htm, htu, access_token=token, now=NOW)


def dpop(token: str = BOUND, *proofs: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"DPoP {token}"), *(("dpop", p) for p in proofs))


async def refused(metadata, auth: Authenticator | None = None) -> str:
    with pytest.raises(ServiceError) as err:
        await (auth or authenticator()).authenticate(IncomingCall(METHOD, metadata))
    assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    return err.value.reason


async def test_a_bearer_token_without_binding_is_accepted():
    principal = await authenticator().authenticate(IncomingCall(METHOD, (("authorization", f"Bearer {UNBOUND}"),)))
    assert principal.client_id == "demo-ehr"


async def test_a_bound_token_with_a_proof_for_this_call_is_accepted():
    assert (await authenticator().authenticate(IncomingCall(METHOD, dpop(BOUND, proof())))).client_id == "demo-ehr"


async def test_schemes_are_case_insensitive():
    assert await authenticator().authenticate(
        IncomingCall(METHOD, (("authorization", f"dpop {BOUND}"), ("dpop", proof())))
    )
    assert await authenticator().authenticate(IncomingCall(METHOD, (("authorization", f"BEARER {UNBOUND}"),)))


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", ""),), "TOKEN_MISSING"),
        ((("authorization", f"Basic {UNBOUND}"),), "TOKEN_MALFORMED"),
        ((("authorization", "Bearer"),), "TOKEN_MALFORMED"),
        ((("authorization", f"Bearer {UNBOUND} extra"),), "TOKEN_MALFORMED"),
        ((("authorization", f"Bearer {UNBOUND}"), ("authorization", f"Bearer {UNBOUND}")), "TOKEN_MALFORMED"),
        ((("authorization", "Bearer " + "e" * MAX_AUTHORIZATION_BYTES),), "TOKEN_TOO_LARGE"),
    ],
)
async def test_the_authorization_metadata_must_be_one_known_scheme(metadata, reason):
    assert await refused(metadata) == reason


async def test_a_bound_token_sent_as_bearer_is_refused():
    assert await refused((("authorization", f"Bearer {BOUND}"), ("dpop", proof()))) == "DPOP_BOUND_TOKEN_AS_BEARER"


async def test_a_bound_token_needs_a_proof():
    assert await refused(dpop(BOUND)) == "DPOP_PROOF_MISSING"


async def test_the_proof_must_be_by_the_bound_key():
    assert await refused(dpop(BOUND, proof(key=ECKey.generate_key("P-256")))) == "DPOP_KEY_MISMATCH"


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"htm": "GET"}, "DPOP_HTM_MISMATCH"),
        ({"htu": grpc_target(PUBLIC_URL, "/samhandling.audit.v1.AuditService/ListEvents")}, "DPOP_HTU_MISMATCH"),
        ({"htu": grpc_target("https://other.example", METHOD)}, "DPOP_HTU_MISMATCH"),
        ({"token": "another.access.token"}, "DPOP_ATH_MISMATCH"),
    ],
)
async def test_the_proof_is_bound_to_this_grpc_call_and_token(kwargs, reason):
    assert await refused(dpop(BOUND, proof(**kwargs))) == reason


async def test_a_proof_is_single_use():
    auth, metadata = authenticator(), dpop(BOUND, proof())
    await auth.authenticate(IncomingCall(METHOD, metadata))
    assert await refused(metadata, auth) == "DPOP_REPLAYED"


async def test_a_proof_whose_single_use_cannot_be_checked_is_refused():
    with pytest.raises(ServiceError) as err:
        await authenticator(replay=UnavailableClaims()).authenticate(IncomingCall(METHOD, dpop(BOUND, proof())))
    assert (err.value.code, err.value.reason) == (grpc.StatusCode.UNAVAILABLE, "REPLAY_STORE_UNAVAILABLE")


@pytest.mark.parametrize("proofs", [("garbage",), (proof(), proof())])
async def test_a_proof_must_be_one_valid_jws(proofs):
    assert await refused(dpop(BOUND, *proofs)) == "DPOP_PROOF_INVALID"


async def test_an_old_proof_is_refused():
    old = make_proof(KEY, "POST", HTU, access_token=BOUND, now=NOW - 3600)
    assert await refused(dpop(BOUND, old)) == "DPOP_IAT_OUT_OF_WINDOW"


async def test_the_dpop_scheme_needs_a_bound_token():
    assert await refused(dpop(UNBOUND, proof(token=UNBOUND))) == "DPOP_TOKEN_NOT_BOUND"


async def test_a_dpop_bound_client_may_not_use_bearer():
    auth = authenticator("demo-hospital", frozenset({"demo-hospital"}))
    assert await refused((("authorization", f"Bearer {UNBOUND}"),), auth) == "DPOP_REQUIRED"
    assert (await auth.authenticate(IncomingCall(METHOD, dpop(BOUND, proof())))).client_id == "demo-hospital"


async def test_the_justification_is_percent_decoded_utf8():
    metadata = (("authorization", f"Bearer {UNBOUND}"), ("x-samhandling-justification", "Bevisstl%C3%B8s%20pasient "))
    assert (await authenticator().authenticate(IncomingCall(METHOD, metadata))).justification == "Bevisstløs pasient"


async def test_refusals_are_logged_without_credentials(caplog):
    caplog.set_level(logging.INFO, logger="gateway.security")
    sent = proof(key=ECKey.generate_key("P-256"))
    await refused(dpop(BOUND, sent))
    (record,) = [r for r in caplog.records if r.name == "gateway.security"]
    assert (record.reason, record.method, record.client_id) == ("DPOP_KEY_MISMATCH", METHOD, "demo-ehr")
    logged = json.dumps(vars(record), default=str)
    assert BOUND not in logged and sent not in logged and PROOF_PREFIX not in logged


async def test_a_refusal_before_the_token_is_known_names_no_client(caplog):
    caplog.set_level(logging.INFO, logger="gateway.security")
    await refused(())
    (record,) = [r for r in caplog.records if r.name == "gateway.security"]
    assert (record.reason, record.client_id) == ("TOKEN_MISSING", "")


def seeds_with(tmp_path, clients) -> Settings:
    (tmp_path / "clients.json").write_text(json.dumps({"clients": clients}))
    return Settings(seeds_dir=tmp_path, dpop_bound_clients=frozenset({"configured"}))


def test_seeded_dpop_bound_clients_are_added_in_development_only(tmp_path):
    settings = seeds_with(tmp_path, [{"client_id": "a", "dpop_bound": True}, {"client_id": "b"}])
    assert dpop_bound_clients(settings) == {"configured", "a"}
    assert dpop_bound_clients(replace(settings, env="production")) == {"configured"}


def test_unreadable_seeded_clients_refuse_to_start(tmp_path):
    with pytest.raises(SettingsError):
        dpop_bound_clients(Settings(seeds_dir=tmp_path))
