"""The pages' one form parser: urlencoded UTF-8 only, bounded, strict about its encoding."""

from __future__ import annotations

import grpc
import pytest
from starlette.responses import Response

from gateway.http.errors import http_status
from gateway.web.context import Page, WebRoute
from gateway.web.forms import MAX_FIELDS, MAX_FORM_BYTES, MAX_VALUE_CHARS, parse_form
from services.platform.errors import ServiceError
from tests.support_web import FakeSessions, form_post, log_in, make_session, web_client

FORM = "application/x-www-form-urlencoded"


def test_fields_in_order_with_repeats_spaces_and_utf8() -> None:
    form = parse_form(b"kategori=a&kategori=b&grunn=Ikke+del%2C+takk&navn=%C3%98yvind+%C3%86r%C3%A5", FORM)
    assert form["kategori"] == "a"
    assert form.getlist("kategori") == ["a", "b"]
    assert form["grunn"] == "Ikke del, takk"
    assert form["navn"] == "Øyvind Ærå"
    assert form.get("mangler") is None
    assert parse_form(b"a=&b=1", FORM + "; charset=UTF-8").items_in_order() == [("a", ""), ("b", "1")]


def test_an_empty_body_is_an_empty_form_and_newlines_of_a_textarea_pass() -> None:
    assert len(parse_form(b"", "")) == 0
    assert parse_form(b"t=linje+1%0D%0Alinje+2%09x", FORM)["t"] == "linje 1\r\nlinje 2\tx"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (b"a=1", "application/json", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"a=1", "multipart/form-data; boundary=x", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"a=1", FORM + "; charset=latin-1", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"a=" + b"x" * MAX_FORM_BYTES, FORM, 413, "BODY_TOO_LARGE"),
        (b"&".join(b"f=1" for _ in range(MAX_FIELDS + 1)), FORM, 400, "INVALID_ARGUMENT"),
        (b"a=" + b"x" * (MAX_VALUE_CHARS + 1), FORM, 400, "INVALID_ARGUMENT"),
        (b"a=100%", FORM, 400, "INVALID_ARGUMENT"),
        (b"a=%zz", FORM, 400, "INVALID_ARGUMENT"),
        (b"a=%FF%FE", FORM, 400, "INVALID_ARGUMENT"),
        (b"a=%00", FORM, 400, "INVALID_ARGUMENT"),
        (b"a=%1B%5B31m", FORM, 400, "INVALID_ARGUMENT"),
        (b"bare", FORM, 400, "INVALID_ARGUMENT"),
        (b"=verdi", FORM, 400, "INVALID_ARGUMENT"),
    ],
)
def test_refusals(body: bytes, content_type: str, status: int, reason: str) -> None:
    with pytest.raises(ServiceError) as refused:
        parse_form(body, content_type)
    assert (http_status(refused.value), refused.value.reason) == (status, reason)
    if reason == "INVALID_ARGUMENT":
        assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert list(refused.value.field_violations) == ["form"]


def _echo_route() -> tuple[WebRoute, list[Page]]:
    seen: list[Page] = []

    async def post(page: Page) -> Response:
        seen.append(page)
        return page.redirect("/")

    return WebRoute("/pasient/skjema", {"POST": post}, "patient"), seen


def test_the_wrapper_hands_the_parsed_form_to_the_handler() -> None:
    route, seen = _echo_route()
    sessions = FakeSessions()
    client = web_client([route], sessions=sessions)
    session = make_session()
    log_in(client, sessions, session)
    answer = form_post(client, "/pasient/skjema", {"grunn": "Ikke del"}, session)
    assert answer.status_code == 303
    assert seen[0].form is not None and seen[0].form["grunn"] == "Ikke del"


def test_a_bad_form_is_an_error_page_and_the_handler_never_runs() -> None:
    route, seen = _echo_route()
    sessions = FakeSessions()
    client = web_client([route], sessions=sessions)
    session = make_session()
    log_in(client, sessions, session)
    too_big = client.post(
        "/pasient/skjema",
        content=b"a=" + b"x" * MAX_FORM_BYTES,
        headers={"origin": "https://testserver", "content-type": FORM},
    )
    assert too_big.status_code == 413
    assert "For mye data" in too_big.text and "BODY_TOO_LARGE" in too_big.text
    json_post = client.post(
        "/pasient/skjema",
        content=b'{"csrf": "x"}',
        headers={"origin": "https://testserver", "content-type": "application/json"},
    )
    assert json_post.status_code == 415
    assert not seen
