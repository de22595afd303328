"""People at the development STS: login pages, authorization code + PKCE S256, refresh tokens."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from joserfc.jwk import ECKey

from services.sts.config import StsConfig
from services.sts.login_form import read_login_page
from services.sts.main import StsServer
from services.sts.token_client import (
    CLIENT_ASSERTION_TYPE,
    StsTokenError,
    TokenResponse,
    build_client_assertion,
    login_token,
    refresh_access_token,
)
from tests.fixtures import people
from tests.fixtures.sts import (
    LEGEVAKT_CALLBACK,
    SEEDS,
    WEB_CALLBACK,
    Login,
    assert_refused,
    private_jwk,
    redirect_params,
    start,
    verified_claims,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

STAFF_PAGES = "http://127.0.0.1:8080/innlogging/ferdig"
AUDIT = "nhn:samhandling/audit.read"
CAPACITY = "nhn:samhandling/capacity.read"
PURPOSE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"


def details(**parameters: Any) -> str:
    return json.dumps([{"type": "nhn:tillitsrammeverk:parameters", **parameters}])


async def test_personnel_login_gives_the_helseid_person_claims(sts: StsServer) -> None:
    key = ECKey.generate_key("P-256")

    token = await login_token(
        sts.issuer,
        "demo-legevakt",
        private_jwk("demo-legevakt"),
        LEGEVAKT_CALLBACK,
        people.LARS,
        kind="personnel",
        dpop_key=key,
        purpose="ETREAT",
    )

    assert token.token_type == "DPoP" and token.expires_in == 600 and token.refresh_token
    header, claims = await verified_claims(sts.issuer, token.access_token)
    assert claims["client_id"] == "demo-legevakt" and claims["sub"] not in ("demo-legevakt", people.LARS)
    assert claims["helseid://claims/identity/pid"] == people.LARS
    assert claims["helseid://claims/identity/security_level"] == "4"
    assert claims["helseid://claims/hpr/hpr_number"] == people.LARS_HPR
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "910000012"
    assert claims["helseid://claims/client/claims/orgnr_child"] == "910000039"
    assert claims["scope"] == (
        "nhn:samhandling/summary.read nhn:samhandling/summary.write nhn:samhandling/capacity.read"
        " nhn:samhandling/escalation.inbox"
    )
    assert claims["cnf"] == {"jkt": key.thumbprint()}
    assert claims["nhn:tillitsrammeverk:parameters"] == {
        "practitioner": {
            "identifier": people.LARS,
            "hpr_nr": people.LARS_HPR,
            "authorization": {"code": "LE", "system": "urn:oid:2.16.578.1.12.4.1.1.9060"},
            "legal_entity": "910000012",
            "point_of_care": "910000039",
        },
        "care_relationship": {"purpose_of_use": {"code": "ETREAT", "system": PURPOSE_SYSTEM}},
    }


async def test_patient_login_gives_id_porten_like_claims(sts: StsServer) -> None:
    token = await login_token(
        sts.issuer, "samhandling-web", private_jwk("samhandling-web"), WEB_CALLBACK, people.ESKIL, kind="patient"
    )

    assert token.token_type == "Bearer" and token.refresh_token
    _, claims = await verified_claims(sts.issuer, token.access_token)
    assert claims["scope"] == "samhandling:patient"
    assert claims["helseid://claims/identity/pid"] == people.ESKIL
    assert claims["helseid://claims/identity/security_level"] == "4"
    for absent in (
        "helseid://claims/hpr/hpr_number",
        "helseid://claims/client/claims/orgnr_parent",
        "nhn:tillitsrammeverk:parameters",
        "cnf",
    ):
        assert absent not in claims


async def test_the_same_person_keeps_one_subject_that_is_not_the_person_number(sts: StsServer) -> None:
    tokens = [
        await login_token(
            sts.issuer, "samhandling-web", private_jwk("samhandling-web"), WEB_CALLBACK, pid, kind="patient"
        )
        for pid in (people.ESKIL, people.ESKIL, people.RAGNHILD)
    ]

    subjects = [(await verified_claims(sts.issuer, t.access_token))[1]["sub"] for t in tokens]

    assert subjects[0] == subjects[1] != subjects[2]
    assert people.ESKIL not in subjects[0]


async def test_personnel_page_offers_only_the_clients_own_employees_accessibly(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    page = await Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK).page(login_hint=people.SIGRID)

    form, _ = read_login_page(page.text)
    assert page.status_code == 200 and form is not None and form.kind == "personnel"
    assert set(form.choices["person"]) == {people.LARS, people.SIGRID}
    assert '<html lang="nb">' in page.text and "<legend>Velg person</legend>" in page.text
    assert f'value="{people.SIGRID}" required checked' in page.text  # login_hint preselects
    for index in range(2):
        assert f'id="person-{index}"' in page.text and f'<label for="person-{index}">' in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


async def test_a_person_not_offered_cannot_be_posted_and_the_form_stays_usable(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    login = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    page = await login.page()

    refused = await login.choose(page, people.KRISTIN)
    accepted = await login.choose(refused, people.LARS)

    assert refused.status_code == 400 and 'role="alert"' in refused.text
    assert "code" in redirect_params(accepted, LEGEVAKT_CALLBACK)


async def test_cancelling_the_login_returns_access_denied(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)

    answer = await login.choose(await login.page(), people.ESKIL, action="cancel")

    params = redirect_params(answer, WEB_CALLBACK)
    assert (params["error"], params["state"]) == ("access_denied", login.state) and "code" not in params


async def test_a_login_request_id_works_once(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    page = await login.page()

    first = await login.choose(page, people.ESKIL)
    second = await login.choose(page, people.ESKIL)

    assert first.status_code == 302
    assert second.status_code == 400 and "utløpt eller ukjent" in second.text


async def test_pkce_verifier_mismatch_is_invalid_grant(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    code = await login.code(people.ESKIL)

    refused = await login.redeem(code, code_verifier=secrets.token_urlsafe(48))
    without = await login.redeem(code, code_verifier="")

    assert_refused(refused, "invalid_grant")
    assert without.status_code == 400


async def test_code_reuse_is_refused_and_its_tokens_stop_refreshing(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    code = await login.code(people.ESKIL)
    first = await login.redeem(code)

    second = await login.redeem(code)

    assert first.status_code == 200, first.text
    assert_refused(second, "invalid_grant")
    with pytest.raises(StsTokenError) as refused:
        await refresh_access_token(
            sts.issuer, "samhandling-web", private_jwk("samhandling-web"), first.json()["refresh_token"]
        )
    assert refused.value.error == "invalid_grant"


async def test_a_code_belongs_to_the_client_it_was_issued_to(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    code = await login.code(people.LARS)
    thief = Login(sts, http, "samhandling-web", LEGEVAKT_CALLBACK)
    thief.verifier = login.verifier

    refused = await thief.redeem(code)
    token = (await login.redeem_with_dpop(code, ECKey.generate_key("P-256")))["access_token"]

    assert_refused(refused, "invalid_grant")
    assert token  # the attempt did not spend it


async def test_unregistered_redirect_uri_gets_an_error_page_and_no_redirect(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    for redirect_uri in ("http://127.0.0.1:8080/callback/evil", "http://evil.example/callback", None):
        page = await Login(sts, http, "samhandling-web", WEB_CALLBACK).page(redirect_uri=redirect_uri)

        assert page.status_code == 400 and "location" not in page.headers
        assert "invalid_request" in page.text


async def test_unknown_client_gets_an_error_page(sts: StsServer, http: httpx.AsyncClient) -> None:
    page = await Login(sts, http, "ghost", WEB_CALLBACK).page()

    assert page.status_code == 400 and "invalid_client" in page.text


async def test_redirect_uri_differing_at_the_token_endpoint_is_invalid_grant(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    code = await login.code(people.ESKIL)

    assert_refused(await login.redeem(code, redirect_uri="http://127.0.0.1:8080/other"), "invalid_grant")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        pytest.param({"code_challenge_method": "plain"}, "invalid_request", id="plain-pkce"),
        pytest.param({"code_challenge_method": None}, "invalid_request", id="pkce-method-missing"),
        pytest.param({"code_challenge": None, "code_challenge_method": None}, "invalid_request", id="no-pkce"),
        pytest.param({"state": None}, "invalid_request", id="no-state"),
        pytest.param({"response_type": "token"}, "unsupported_response_type", id="implicit"),
        pytest.param({"scope": "nhn:samhandling/summary.read"}, "invalid_scope", id="scope-not-registered"),
        pytest.param(
            {"authorization_details": details(care_relationship={"purpose_of_use": {"code": "SHOPPING"}})},
            "invalid_authorization_details",
            id="invalid-purpose",
        ),
        pytest.param(
            {"authorization_details": details(care_relationship={"purpose_of_use": {"code": "TREAT"}})},
            "invalid_authorization_details",
            id="patients-attest-nothing",
        ),
    ],
)
async def test_bad_authorization_requests_go_back_to_the_client_with_an_error(
    sts: StsServer, http: httpx.AsyncClient, changes: dict[str, str | None], error: str
) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)

    params = redirect_params(await login.page(**changes), WEB_CALLBACK)

    assert params["error"] == error
    assert params.get("state") == changes.get("state", login.state)
    assert "code" not in params


async def test_repeated_authorization_parameters_are_refused(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    url = sts.issuer + "/connect/authorize?" + urlencode(login.query()) + "&state=again"

    page = await http.get(url)

    assert page.status_code == 400 and "repeated" in page.text


async def test_attestation_in_the_authorization_request_lands_in_the_token(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    attestation = details(
        care_relationship={
            "purpose_of_use": {"code": "BTG", "system": PURPOSE_SYSTEM},
            "purpose_of_use_details": {"code": "akutt", "system": "urn:example:details"},
            "decision_ref": {"id": "beslutning-17", "user_selected": True},
        },
        patients=[{"identifier": people.ESKIL, "point_of_care": "910000039"}],
    )
    key = ECKey.generate_key("P-256")
    login = Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK)
    code = await login.code(people.LARS, authorization_details=attestation)

    token = (await login.redeem_with_dpop(code, key))["access_token"]

    _, claims = await verified_claims(sts.issuer, token)
    parameters = claims["nhn:tillitsrammeverk:parameters"]
    assert parameters["practitioner"]["hpr_nr"] == people.LARS_HPR
    assert parameters["care_relationship"]["purpose_of_use"]["code"] == "BTG"
    assert parameters["care_relationship"]["decision_ref"] == {"id": "beslutning-17", "user_selected": True}
    assert parameters["patients"] == [{"identifier": people.ESKIL, "point_of_care": "910000039"}]


async def test_a_practitioner_sent_by_the_client_is_refused(sts: StsServer, http: httpx.AsyncClient) -> None:
    forged = details(practitioner={"hpr_nr": people.VILDE_HPR}, care_relationship={"purpose_of_use": {"code": "TREAT"}})

    params = redirect_params(
        await Login(sts, http, "samhandling-web", WEB_CALLBACK).page(authorization_details=forged), WEB_CALLBACK
    )

    assert params["error"] == "invalid_authorization_details"
    assert "practitioner" in params["error_description"]


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(sts: StsServer) -> None:
    key = private_jwk("samhandling-web")
    login = await login_token(sts.issuer, "samhandling-web", key, WEB_CALLBACK, people.ESKIL, kind="patient")

    second = await refresh_access_token(sts.issuer, "samhandling-web", key, login.refresh_token)
    with pytest.raises(StsTokenError) as reused:
        await refresh_access_token(sts.issuer, "samhandling-web", key, login.refresh_token)
    with pytest.raises(StsTokenError) as revoked:
        await refresh_access_token(sts.issuer, "samhandling-web", key, second.refresh_token)

    assert second.refresh_token not in (None, login.refresh_token)
    _, claims = await verified_claims(sts.issuer, second.access_token)
    assert claims["helseid://claims/identity/pid"] == people.ESKIL and claims["scope"] == "samhandling:patient"
    assert reused.value.error == revoked.value.error == "invalid_grant"


async def test_refresh_token_belongs_to_its_client(sts: StsServer) -> None:
    login = await login_token(
        sts.issuer, "samhandling-web", private_jwk("samhandling-web"), WEB_CALLBACK, people.ESKIL, kind="patient"
    )

    with pytest.raises(StsTokenError) as refused:
        await refresh_access_token(
            sts.issuer,
            "demo-legevakt",
            private_jwk("demo-legevakt"),
            login.refresh_token,
            dpop_key=ECKey.generate_key("P-256"),
        )

    assert refused.value.error == "invalid_grant"


@pytest.mark.parametrize(
    ("client_id", "grant"),
    [
        pytest.param("samhandling-web", {"grant_type": "client_credentials"}, id="patient-client-credentials"),
        pytest.param("demo-ehr", {"grant_type": "refresh_token", "refresh_token": "x"}, id="system-refresh"),
        pytest.param(
            "demo-ehr",
            {"grant_type": "authorization_code", "code": "x", "redirect_uri": WEB_CALLBACK},
            id="system-authorization-code",
        ),
    ],
)
async def test_grants_a_client_is_not_registered_for_are_unauthorized(
    sts: StsServer, http: httpx.AsyncClient, client_id: str, grant: dict[str, str]
) -> None:
    form = {
        **grant,
        "client_assertion_type": CLIENT_ASSERTION_TYPE,
        "client_assertion": build_client_assertion(client_id, private_jwk(client_id), sts.issuer),
    }

    assert_refused(await http.post(sts.issuer + "/connect/token", data=form), "unauthorized_client")


async def test_logs_hold_no_person_numbers_codes_or_tokens(
    sts: StsServer, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    login = Login(sts, http, "samhandling-web", WEB_CALLBACK)
    code = await login.code(people.ESKIL, login_hint=people.ESKIL)
    token = (await login.redeem(code)).json()

    # What the STS logs: httpx/httpcore are this test's own HTTP client, and uvicorn's access
    # log (request lines with query strings) is switched off by the STS, though pytest still
    # captures it.
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore", "uvicorn.access"))
    )
    assert "logged in at client samhandling-web" in logged
    for secret in (people.ESKIL, code, token["access_token"].split(".")[2], token["refresh_token"], login.verifier):
        assert secret not in logged


async def test_an_attestation_outlives_neither_60_minutes_nor_refreshes(tmp_path) -> None:
    from services.platform.dpop import make_proof
    from tests.fixtures.sts import Clock

    clock = Clock()
    server = StsServer(StsConfig(port=0, seeds_dir=SEEDS), clock=clock)
    serving = await start(server)
    key = ECKey.generate_key("P-256")
    token_endpoint = server.issuer + "/connect/token"

    async def token_request(http: httpx.AsyncClient, grant: dict[str, str], **assertion: Any) -> dict[str, Any]:
        nonce = (await http.post(token_endpoint)).headers["dpop-nonce"]
        form = {
            **grant,
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": build_client_assertion(
                "demo-legevakt", private_jwk("demo-legevakt"), server.issuer, now=int(clock()), **assertion
            ),
        }
        proof = make_proof(key, "POST", token_endpoint, nonce=nonce, now=clock())
        response = await http.post(token_endpoint, data=form, headers={"DPoP": proof})
        assert response.status_code == 200, response.text
        return response.json()

    def care(token: dict[str, Any]) -> str | None:
        claims = json.loads(jws_payload(token["access_token"]))
        relationship = claims["nhn:tillitsrammeverk:parameters"].get("care_relationship")
        return relationship["purpose_of_use"]["code"] if relationship else None

    try:
        async with httpx.AsyncClient(follow_redirects=False) as http:
            login = Login(server, http, "demo-legevakt", LEGEVAKT_CALLBACK)
            code = await login.code(
                people.LARS, authorization_details=details(care_relationship={"purpose_of_use": {"code": "BTG"}})
            )
            first = await token_request(
                http,
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": LEGEVAKT_CALLBACK,
                    "code_verifier": login.verifier,
                },
            )
            clock.advance(60 * 60 - 600 - 30)  # a token issued now still expires within the hour
            within = await token_request(http, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
            clock.advance(60)  # now it would not
            beyond = await token_request(
                http, {"grant_type": "refresh_token", "refresh_token": within["refresh_token"]}
            )
            renewed = await token_request(
                http,
                {"grant_type": "refresh_token", "refresh_token": beyond["refresh_token"]},
                authorization_details=[
                    {
                        "type": "nhn:tillitsrammeverk:parameters",
                        "care_relationship": {"purpose_of_use": {"code": "ETREAT"}},
                    }
                ],
            )
    finally:
        server.stop()
        await serving

    assert [care(t) for t in (first, within, beyond, renewed)] == ["BTG", "BTG", None, "ETREAT"]


def jws_payload(token: str) -> bytes:
    from joserfc import jws

    return jws.extract_compact(token.encode()).payload


# --- the staff pages' multi-tenant client (samhandling-ansatt) and loopback redirect URIs -----


async def auditor_login(sts: StsServer, scope: str, key: ECKey) -> TokenResponse:
    """Petra (privacy officer, an auditor) logs in at the staff pages' client with this scope and DPoP key."""
    return await login_token(
        sts.issuer,
        "samhandling-ansatt",
        private_jwk("samhandling-ansatt"),
        STAFF_PAGES,
        people.PETRA,
        kind="personnel",
        scope=scope,
        dpop_key=key,
    )


async def test_an_auditor_logs_in_at_the_multi_tenant_client_as_an_auditor_of_her_own_organisation(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    from gateway.principal import principal_from_claims
    from services.platform.vocabulary import ActorKind

    login = Login(sts, http, "samhandling-ansatt", STAFF_PAGES)
    page = await login.page(scope=f"openid profile {AUDIT}")
    form, _ = read_login_page(page.text)
    assert page.status_code == 200 and form is not None and form.kind == "personnel"
    assert form.choices["person"] == [people.PETRA]  # auditors only: no clinician is offered
    assert "Petra Personvernsen – personvernombud" in page.text
    key = ECKey.generate_key("P-256")

    token = await auditor_login(sts, f"openid profile {AUDIT}", key)

    assert token.token_type == "DPoP" and token.refresh_token
    _, claims = await verified_claims(sts.issuer, token.access_token)
    assert claims["scope"] == f"openid profile {AUDIT}" and claims["client_id"] == "samhandling-ansatt"
    assert claims["helseid://claims/identity/pid"] == people.PETRA
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "910000012"  # Bodø kommune, from Petra
    assert claims["helseid://claims/client/claims/orgnr_child"] == "910000020"
    assert claims["cnf"] == {"jkt": key.thumbprint()}
    for absent in ("helseid://claims/hpr/hpr_number", "nhn:tillitsrammeverk:parameters"):
        assert absent not in claims
    principal = principal_from_claims(claims, allow_synthetic=True)
    assert (principal.kind, principal.orgnr_parent, principal.hpr_number) == (ActorKind.AUDITOR, "910000012", "")


async def test_the_refreshed_token_keeps_the_persons_organisation(sts: StsServer) -> None:
    key = ECKey.generate_key("P-256")
    login = await auditor_login(sts, f"openid {AUDIT}", key)

    refreshed = await refresh_access_token(
        sts.issuer, "samhandling-ansatt", private_jwk("samhandling-ansatt"), login.refresh_token, dpop_key=key
    )

    _, claims = await verified_claims(sts.issuer, refreshed.access_token)
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "910000012" and claims["scope"] == f"openid {AUDIT}"


async def test_a_clinician_at_the_multi_tenant_client_acts_for_her_own_employer(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    page = await Login(sts, http, "samhandling-ansatt", STAFF_PAGES).page(scope=f"openid {CAPACITY}")
    form, _ = read_login_page(page.text)
    assert form is not None and people.PETRA not in form.choices["person"]  # an auditor gets no other scope
    assert {people.SIGRID, people.LARS, people.KRISTIN, people.MARTE} <= set(
        form.choices["person"]
    )  # staff of every organisation

    token = await login_token(
        sts.issuer,
        "samhandling-ansatt",
        private_jwk("samhandling-ansatt"),
        STAFF_PAGES,
        people.MARTE,
        kind="personnel",
        scope=f"openid {CAPACITY}",
        dpop_key=ECKey.generate_key("P-256"),
    )

    _, claims = await verified_claims(sts.issuer, token.access_token)
    assert claims["scope"] == f"openid {CAPACITY}" and claims["helseid://claims/hpr/hpr_number"] == people.MARTE_HPR
    assert claims["helseid://claims/client/claims/orgnr_parent"] == "910000071"  # Nordlandssykehuset HF
    assert claims["helseid://claims/client/claims/orgnr_child"] == "910000098"
    practitioner = claims["nhn:tillitsrammeverk:parameters"]["practitioner"]
    assert (practitioner["legal_entity"], practitioner["point_of_care"]) == ("910000071", "910000098")


async def test_a_nurse_cannot_get_the_audit_scope(sts: StsServer, http: httpx.AsyncClient) -> None:
    login = Login(sts, http, "samhandling-ansatt", STAFF_PAGES)
    page = await login.page(scope=f"openid {AUDIT}")

    refused = await login.choose(page, people.SIGRID)
    with pytest.raises(StsTokenError, match="cannot log in"):
        await login_token(
            sts.issuer,
            "samhandling-ansatt",
            private_jwk("samhandling-ansatt"),
            STAFF_PAGES,
            people.SIGRID,
            kind="personnel",
            scope=AUDIT,
            dpop_key=ECKey.generate_key("P-256"),
        )
    at_her_employer = redirect_params(
        await Login(sts, http, "demo-legevakt", LEGEVAKT_CALLBACK).page(scope=AUDIT), LEGEVAKT_CALLBACK
    )

    assert refused.status_code == 400 and 'role="alert"' in refused.text and "location" not in refused.headers
    assert at_her_employer["error"] == "invalid_scope"


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param(f"openid {AUDIT} {CAPACITY}", id="audit-and-capacity"),
        pytest.param(None, id="no-scope-means-both"),
    ],
)
async def test_the_audit_scope_with_another_api_scope_is_invalid_scope(
    sts: StsServer, http: httpx.AsyncClient, scope: str | None
) -> None:
    login = Login(sts, http, "samhandling-ansatt", STAFF_PAGES)

    params = redirect_params(await login.page(scope=scope), STAFF_PAGES)

    assert params["error"] == "invalid_scope" and AUDIT in params["error_description"]
    assert params["state"] == login.state and "code" not in params


async def test_a_loopback_redirect_uri_works_on_any_port_with_its_registered_path(
    sts: StsServer, http: httpx.AsyncClient
) -> None:
    elsewhere = "http://127.0.0.1:41234/callback"  # samhandling-web registers port 8080
    token = await login_token(
        sts.issuer, "samhandling-web", private_jwk("samhandling-web"), elsewhere, people.ESKIL, kind="patient"
    )
    login = Login(sts, http, "samhandling-web", "http://127.0.0.1:41235/callback")
    code = await login.code(people.ESKIL)

    assert token.access_token
    # The token request must still name the authorization request's redirect_uri exactly.
    assert_refused(await login.redeem(code, redirect_uri="http://127.0.0.1:41236/callback"), "invalid_grant")
    for refused in (
        "http://127.0.0.1:41234/callback/evil",
        "http://localhost:41234/callback",
        "https://127.0.0.1:41234/callback",
    ):
        page = await Login(sts, http, "samhandling-web", WEB_CALLBACK).page(redirect_uri=refused)
        assert page.status_code == 400 and "location" not in page.headers
