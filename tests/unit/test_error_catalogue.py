"""The catalogue of error reasons (services/platform/error_reasons.py) is the only place a reason
is written: no raise site or comparison in gateway/ or services/ spells one as a string, every
entry is raised somewhere, a reason travels only with its catalogued code, and docs/errors.md is
what the catalogue renders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grpc
import pytest

from gateway.http.errors import HTTP_STATUS, error_response, http_status
from services.platform.error_docs import render
from services.platform.error_reasons import Reason, catalogued
from services.platform.errors import (
    ServiceError,
    invalid_argument,
    not_found,
    permission_denied,
    unauthenticated,
    unavailable,
)
from services.platform.settings import REPO_ROOT

CATALOGUE = REPO_ROOT / "services" / "platform" / "error_reasons.py"
ERRORS = REPO_ROOT / "services" / "platform" / "errors.py"
REASONS = frozenset(r.value for r in Reason)


def _sources() -> list[Path]:
    return [
        path
        for root in ("gateway", "services")
        for path in sorted((REPO_ROOT / root).rglob("*.py"))
        if path != CATALOGUE and not path.name.endswith(("_pb2.py", "_pb2_grpc.py"))
    ]


def spelt_reasons(source: str, where: str, *, may_build_errors: bool = False) -> list[str]:
    """Each place in `source` that writes a catalogued reason as a string literal (anywhere: an
    argument, a comparison, a constant, a log field), or builds a ServiceError by hand."""
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in REASONS:
            found.append(f"{where}:{node.lineno} {node.value!r}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ServiceError"
            and not may_build_errors
        ):
            found.append(f"{where}:{node.lineno} ServiceError(...) by hand")
    return found


def reasons_used(source: str, where: str) -> tuple[set[str], set[str]]:
    """(reasons raised: `Reason.X` anywhere but a comparison, reasons only compared with)."""
    tree = ast.parse(source, where)
    compared = {id(n) for c in ast.walk(tree) if isinstance(c, ast.Compare) for n in ast.walk(c)}
    raised, seen = set(), set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "Reason"
            and node.attr in REASONS
        ):
            (seen if id(node) in compared else raised).add(node.attr)
    return raised, seen - raised


def test_no_reason_is_spelt_as_a_string_outside_the_catalogue() -> None:
    spelt = [
        hit
        for path in _sources()
        for hit in spelt_reasons(path.read_text(), str(path.relative_to(REPO_ROOT)), may_build_errors=path == ERRORS)
    ]
    assert not spelt, "use the catalogue's entry (services/platform/error_reasons.py):\n" + "\n".join(spelt)


def test_the_walk_sees_a_spelt_reason_in_each_form() -> None:
    source = """
raise unauthenticated("TOKEN_EXPIRED", "the token has expired")
raise ServiceError(grpc.StatusCode.NOT_FOUND, Reason.UNIT_NOT_FOUND, "no unit")
if err.reason == "NO_CHECKPOINT": pass
log.warning("refused", extra={"reason": "WEB_CSRF_REFUSED"})
raise Reason.AUDIT_BUSY.error("busy")
"""
    assert sorted(spelt_reasons(source, "x.py")) == [
        "x.py:2 'TOKEN_EXPIRED'",
        "x.py:3 ServiceError(...) by hand",
        "x.py:4 'NO_CHECKPOINT'",
        "x.py:5 'WEB_CSRF_REFUSED'",
    ]
    assert reasons_used(source, "x.py") == ({"UNIT_NOT_FOUND", "AUDIT_BUSY"}, set())
    assert reasons_used("if e.reason == Reason.NO_CHECKPOINT: pass", "y.py") == (set(), {"NO_CHECKPOINT"})


def test_every_catalogued_reason_is_raised_somewhere() -> None:
    raised: set[str] = set()
    for path in _sources():
        raised |= reasons_used(path.read_text(), str(path))[0]
    assert len(raised) > 60  # the walk found the raise sites
    assert REASONS - raised == set(), "catalogued but never raised: remove them or raise them"


def test_every_entry_is_an_upper_snake_reason_with_a_one_line_meaning() -> None:
    for reason in Reason:
        assert reason.name == reason.value and re.fullmatch(r"[A-Z][A-Z0-9_]*", reason.value)
        assert reason.code not in (grpc.StatusCode.OK, grpc.StatusCode.UNKNOWN)
        assert reason.meaning and "\n" not in reason.meaning and "|" not in reason.meaning


def test_an_entry_raises_its_reason_with_its_code() -> None:
    err = Reason.WATCH_LEASE_LAPSED.error("the lease ran out; subscribe again")
    assert (err.code, err.reason, err.message) == (
        grpc.StatusCode.UNAVAILABLE,
        "WATCH_LEASE_LAPSED",
        "the lease ran out; subscribe again",
    )
    assert type(err.reason) is str  # the wire value, not the enum member
    assert unavailable(Reason.WATCH_LEASE_LAPSED, "m").code == grpc.StatusCode.UNAVAILABLE
    bad = invalid_argument({"page_size": "at most 500"}, reason=Reason.MALFORMED_REQUEST)
    assert (bad.code, bad.reason, bad.field_violations) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "MALFORMED_REQUEST",
        {"page_size": "at most 500"},
    )


@pytest.mark.parametrize(
    "helper, reason",
    [
        (unauthenticated, Reason.CONSENT_DENIED),
        (permission_denied, Reason.TOKEN_EXPIRED),
        (not_found, Reason.AUDIT_BUSY),
        (unavailable, Reason.RULE_NOT_FOUND),
    ],
)
def test_a_helper_refuses_a_reason_catalogued_with_another_code(helper, reason) -> None:
    with pytest.raises(ValueError, match=f"{reason.value} is catalogued as {reason.code.name}"):
        helper(reason, "message")
    with pytest.raises(ValueError):
        invalid_argument({"field": "bad"}, reason=reason)


def test_the_json_api_maps_a_reason_to_its_catalogued_http_status() -> None:
    assert http_status(Reason.BODY_TOO_LARGE.error("too large")) == 413
    assert http_status(Reason.UNSUPPORTED_MEDIA_TYPE.error("not json")) == 415
    assert http_status(Reason.HTTP_METHOD_NOT_ALLOWED.error("no")) == 405
    assert http_status(Reason.ROUTE_NOT_FOUND.error("no")) == 404
    assert http_status(Reason.TOKEN_EXPIRED.error("expired")) == 401
    assert error_response(Reason.WEB_LOGINS_FULL.error("full")).status_code == 503
    # A peer's error under a catalogued name but another code is mapped by its code.
    assert http_status(ServiceError(grpc.StatusCode.NOT_FOUND, "BODY_TOO_LARGE", "relayed")) == 404
    assert catalogued("BODY_TOO_LARGE", grpc.StatusCode.NOT_FOUND) is None
    assert catalogued("SOMETHING_ELSE", grpc.StatusCode.NOT_FOUND) is None
    for reason in Reason:
        assert http_status(reason.error("m")) == reason.http_status
        assert reason.http_status == (reason.special_http_status or HTTP_STATUS[reason.code])


def test_docs_errors_md_is_what_the_catalogue_renders() -> None:
    docs = (REPO_ROOT / "docs" / "errors.md").read_text()
    assert docs == render(), "regenerate: .venv/bin/python -m services.platform.error_docs > docs/errors.md"
    for reason in Reason:
        assert f"| {reason.code.name} | `{reason.value}` |" in docs
