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
import unicodedata
import urllib.parse
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
from tests.fixtures import people
from tests.support import running_suite

PATIENT = people.ESKIL
SYSTEM = "demo-hospital"  # reads and reports capacity, raises alerts
EXAMPLES_PER_OPERATION = 15
# Refusals of schema-valid requests that the document cannot state in JSON Schema: rules
# across fields, against the clock, or a checksum. Anything else is the document being looser
# than the server.
BEYOND_THE_SCHEMA = tuple(
    re.compile(p)
    for p in (
        r"must be after from_time",
        r"days after from_time",
        r"must be in the future",
        r"days ahead",
        r"must not exceed total",
        r"available \+ occupied",
        r"FULL means none available",
        r"give target organisations, an area, or both",
        # Identifiers: check digits and dates (services.platform.ids), beyond a pattern.
        r"check digit",
        r"individual number unused",
        r"real date",
        r"invalid month",
        r"both a D-number",
        r"a permit selects",
        r"a block names",
        r"leave empty",
        r"leave unset",  # by rule type
        r"only a permit can be limited",
        r"must be after",
        r"after start_time",  # the access log's period (ListEvents)
        r"not a calendar date",  # 31 February (GetEscalationStatistics)
        r"must not be before start_date",
        r"days after start_date",
        r"must lie in the years 2000-2999",  # the statistics' days: said in the fields' descriptions
        r"only for the received box",  # pushed_only with box SENT (WatchEscalations)
        # Page tokens are opaque: only the server makes them.
        r"not a token from a previous response",
    )
)
# Free text: the document states the text rule by a pattern (services.platform.text), which
# leaves to its description unassigned code points, refused ones outside the BMP, lone
# surrogates and NFC. A refusal is tolerated only when the refused character (at the position
# the server names, in the value sent) is of that kind, or the value sent is not NFC.
_REFUSED_CHARACTER = re.compile(
    r"^control, format or (?:line-break|separator) character "
    r"U\+([0-9A-F]{4,6}) at position ([0-9]+) is not allowed$"
)
_NOT_NFC = "must be in Unicode normalisation form C (NFC)"
# A refusal that depends on the server's state: a watch resumed after a position the server
# has not reached (a generic client only resumes after positions it received).
_BEYOND_THE_NEWEST = re.compile(r"^beyond the newest position \(([0-9]+)\)$")


def sent(case: Any, field: str) -> Any:
    """The value a case sent for a field path (proto names; the body in JSON names), or None."""
    camel = [re.sub(r"_([a-z])", lambda m: m[1].upper(), part) for part in field.split(".")]
    value: Any = case.body if isinstance(case.body, dict) else {}
    for part, json_name in zip(field.split("."), camel, strict=True):
        value = value.get(json_name, value.get(part)) if isinstance(value, dict) else None
    if value is None and "." not in field:
        value = (case.query or {}).get(field)
    if value is None and field in (case.path_parameters or {}):
        value = urllib.parse.unquote(case.path_parameters[field])  # schemathesis sent (and left) it encoded
    return value


def beyond_the_text_pattern(case: Any, violation: Mapping[str, str]) -> bool:
    value = sent(case, violation["field"])
    if not isinstance(value, str):
        return False
    if violation["description"] == _NOT_NFC:
        return not unicodedata.is_normalized("NFC", value)
    if (refused := _REFUSED_CHARACTER.match(violation["description"])) is None:
        return False
    char, position = chr(int(refused[1], 16)), int(refused[2])
    return value[position : position + 1] == char and (ord(char) > 0xFFFF or unicodedata.category(char) in ("Cn", "Cs"))


def beyond_the_newest(case: Any, error: Mapping[str, Any], violation: Mapping[str, str]) -> bool:
    newest = _BEYOND_THE_NEWEST.match(violation["description"])
    value = sent(case, violation["field"])
    return (
        violation["field"] == "resume_after"
        and error["reason"] == "INVALID_ARGUMENT"
        and newest is not None
        and value is not None
        and int(value) > int(newest[1])
    )


def positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """ST202 as this API means it: a schema-valid request is refused with 400 only for a
    reason in BEYOND_THE_SCHEMA, for text beyond the pattern, or for resuming beyond the newest
    position (401/403/404 are decisions about who and what, not about shape)."""
    if response.status_code != 400:
        return None
    error = json.loads(response.content)["error"]
    stated = [
        v
        for v in error["fieldViolations"]
        if not any(p.search(v["description"]) for p in BEYOND_THE_SCHEMA)
        and not beyond_the_text_pattern(case, v)
        and not beyond_the_newest(case, error, v)
    ]
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

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if "patient_id" in case.path_parameters:
            case.path_parameters["patient_id"] = PATIENT
        headers = {**(case.headers or {}), **identity}
        if streams:
            with requests.request(
                case.method, base_url + case.formatted_path, headers=headers, params=case.query, stream=True, timeout=10
            ) as answer:
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
        case.validate_response(
            response, checks=[not_a_server_error, response_schema_conformance, positive_data_acceptance]
        )

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
    logged = [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()
    ]
    assert logged == []
    # Nothing stored by a refused call: a rule version per accepted create or revoke, an
    # alert per accepted raise.
    rules = "/api/v1/patients/{patient_id}/rules"
    assert after == (
        before[0] + accepted[rules] + accepted[rules + "/{rule_id}:revoke"],
        before[1] + accepted[alerts],
    ), accepted


def _case(body: Any = None, query: Any = None, path_parameters: Any = None) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(body=body, query=query, path_parameters=path_parameters)


def _character(char: str, position: int, separator: bool = False) -> str:
    kind = "separator" if separator else "line-break"
    return f"control, format or {kind} character U+{ord(char):04X} at position {position} is not allowed"


def test_only_text_refusals_the_pattern_leaves_out_are_tolerated():
    """The tolerance is exactly what text_pattern leaves to the description: an unassigned or
    astral character at the named position of the value sent, or text that is not NFC; never
    a character the pattern states (a control, a bidi override), nor one not where it is named."""
    unassigned, astral_format = "\U000cbc64", "\U000e0001"
    assert beyond_the_text_pattern(
        _case({"note": f"a{unassigned}"}), {"field": "note", "description": _character(unassigned, 1, True)}
    )
    assert beyond_the_text_pattern(
        _case(path_parameters={"rule_id": "a%F3%A0%80%81"}),
        {"field": "rule_id", "description": _character(astral_format, 1)},
    )
    assert beyond_the_text_pattern(
        _case({"area": {"region": "Sa\u030ar"}}), {"field": "area.region", "description": _NOT_NFC}
    )
    assert not beyond_the_text_pattern(
        _case({"area": {"region": "Sår"}}), {"field": "area.region", "description": _NOT_NFC}
    )
    for char in ("\x0b", "\x89", "\u202e", "\ue000", "\u2028"):
        assert not beyond_the_text_pattern(
            _case(query={"region": f"a{char}"}), {"field": "region", "description": _character(char, 1)}
        ), char
    assert not beyond_the_text_pattern(
        _case(query={"region": f"a{unassigned}"}), {"field": "region", "description": _character(unassigned, 0)}
    )


def test_resuming_beyond_the_newest_position_is_tolerated_only_when_it_is_beyond():
    error = {"reason": "INVALID_ARGUMENT"}
    violation = {"field": "resume_after", "description": "beyond the newest position (13)"}
    assert beyond_the_newest(_case(query={"resume_after": "14"}), error, violation)
    assert not beyond_the_newest(_case(query={"resume_after": "13"}), error, violation)
    assert not beyond_the_newest(_case(query={"resume_after": "14"}), {"reason": "OTHER"}, violation)
    assert not beyond_the_newest(
        _case(query={"resume_after": "14"}),
        error,
        {"field": "resume_after", "description": "0 for a snapshot, or a position received before"},
    )
