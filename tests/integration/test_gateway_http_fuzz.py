"""Schemathesis against the running JSON API (uvicorn in front of the real suite, real STS
tokens): every operation of the OpenAPI document the server serves, with requests generated
from the document (bounded in examples). Per request: no 5xx, answers as the document says,
and no refusal of a schema-valid request for a reason the document could state (schemathesis'
ST202 "positive data acceptance", with the refusals only the server can judge named below).
After the run: no traceback or ERROR in the logs, and nothing stored by a refused call."""
from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from gateway.http.routes import NDJSON, OPENAPI_PATH
from services.cli.token import Identity, obtain_token
from tests.support import running_suite

PATIENT = "22750884907"
SYSTEM = "demo-hospital"  # reads and reports capacity, raises alerts
EXAMPLES_PER_OPERATION = 15
# Refusals of schema-valid requests that the document cannot state in JSON Schema: rules
# across fields, against the clock, or a checksum. Anything else is the document being looser
# than the server.
BEYOND_THE_SCHEMA = tuple(re.compile(p) for p in (
    r"must be after from_time", r"days after from_time", r"must be in the future", r"days ahead",
    r"must not exceed total", r"available \+ occupied", r"FULL means none available",
    r"give target organisations, an area, or both",
    # Identifiers: check digits and dates (services.platform.ids), beyond a pattern.
    r"check digit", r"individual number unused", r"real date", r"invalid month", r"both a D-number",
    r"a permit selects", r"a block names", r"leave empty", r"leave unset",  # by rule type
    r"only a permit can be limited", r"must be after",
    r"after start_time",  # the access log's period (ListEvents)
    # Page tokens are opaque: only the server makes them.
    r"not a token from a previous response",
    # Free text: "printable" is Unicode's category rule, which a JSON Schema pattern cannot
    # state portably (the one text validator of issue 12 point 3 owns it).
    r"only printable characters",
))


def positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """ST202 as this API means it: a schema-valid request is refused with 400 only for a
    reason in BEYOND_THE_SCHEMA (401/403/404 are decisions about who and what, not about shape)."""
    if response.status_code != 400:
        return None
    error = json.loads(response.content)["error"]
    stated = [v for v in error["fieldViolations"]
              if not any(p.search(v["description"]) for p in BEYOND_THE_SCHEMA)]
    if stated or not error["fieldViolations"]:
        raise AssertionError(f"a schema-valid request was refused: {error['reason']} {stated or error['message']}")
    return True


def fuzz(
    document: dict[str, Any], base_url: str, headers_of: Callable[[str], Mapping[str, str]], accepted: Counter[str]
) -> list[str]:
    """Runs every operation; returns one line per failing operation and counts in `accepted`
    the writes (POST) answered 200, by path template."""
    failures: list[str] = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        operation = result.ok()
        try:
            fuzz_operation(operation, base_url, headers_of(operation.path), accepted)
        except (Exception, BaseExceptionGroup) as exc:  # every operation is run and reported
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    return failures


def fuzz_operation(operation: Any, base_url: str, identity: Mapping[str, str], accepted: Counter[str]) -> None:
    streams = NDJSON in json.dumps(operation.definition.raw.get("responses", {}).get("200", {}))

    @hypothesis.settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], derandomize=True,
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if "patient_id" in case.path_parameters:
            case.path_parameters["patient_id"] = PATIENT
        headers = {**(case.headers or {}), **identity}
        if streams:
            with requests.request(case.method, base_url + case.formatted_path, headers=headers,
                                  params=case.query, stream=True, timeout=10) as answer:
                # A stream may stay quiet until something changes: its status and type are
                # checked, and leaving closes it.
                assert answer.status_code < 500, answer.text
                assert answer.status_code != 200 or answer.headers["content-type"] == NDJSON
                if answer.status_code != 200:
                    positive_data_acceptance(None, answer, case)
                return
        response = case.call(base_url=base_url, headers=headers, timeout=10)
        if case.method == "POST" and response.status_code == 200:
            accepted[operation.path] += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance,
                                                 positive_data_acceptance])

    run()


@pytest.fixture
def quiet_generation_logs():
    logging.getLogger("hypothesis").setLevel(logging.WARNING)


async def test_every_json_route_holds_to_its_document_under_fuzzing(tmp_path, caplog, quiet_generation_logs):
    caplog.set_level(logging.WARNING)
    accepted: Counter[str] = Counter()
    async with running_suite(tmp_path) as suite:
        base_url = f"http://{suite.settings.addresses['gateway_http']}"
        patient = (await obtain_token(suite.settings, Identity(patient=PATIENT))).access_token
        system = await suite.token(SYSTEM)
        tokens = {True: {"Authorization": f"Bearer {patient}"}, False: {"Authorization": f"Bearer {system}"}}
        history, alerts = f"/api/v1/patients/{PATIENT}/rules:history", "/api/v1/alerts"
        async with httpx.AsyncClient(base_url=base_url, timeout=10.0) as client:

            async def stored() -> tuple[int, int]:
                versions = (await client.get(history, headers=tokens[True])).json()["versions"]
                raised = (await client.get(alerts, headers=tokens[False])).json()["alerts"]
                return len(versions), len(raised)

            document = (await client.get(OPENAPI_PATH)).json()
            before = await stored()
            failures = await asyncio.to_thread(
                fuzz, document, base_url, lambda path: tokens["{patient_id}" in path], accepted
            )
            after = await stored()
    assert failures == [], "\n".join(failures)
    logged = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records
              if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()]
    assert logged == []
    # Nothing stored by a refused call: a rule version per accepted create or revoke, an
    # alert per accepted raise.
    rules = "/api/v1/patients/{patient_id}/rules"
    assert after == (before[0] + accepted[rules] + accepted[rules + "/{rule_id}:revoke"],
                     before[1] + accepted[alerts]), accepted
