"""Rendering: every value is escaped, a name the handler did not give is an error rather than
an empty string, no template has inline script or style (the CSP would block them), and a
page's redirects and downloads cannot point elsewhere or smuggle a header."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from jinja2 import UndefinedError
from starlette.requests import Request

from gateway.web.context import Page
from gateway.web.i18n_loader import texts
from gateway.web.render import ENV, TEMPLATES_DIR, base_context, render
from tests.support_web import make_session

HOSTILE = "<script>alert(1)</script>\"'&"


def test_values_are_escaped() -> None:
    html = render(
        "error.html",
        "nb",
        "/x",
        None,
        page_title=HOSTILE,
        heading=HOSTILE,
        message=HOSTILE,
        reason=HOSTILE,
        trace_id="",
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;" in html
    assert ENV.from_string("{{ v }}").render(v=HOSTILE) == "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;"


def test_an_error_page_lets_a_signed_in_person_log_out() -> None:
    """A person who meets an error can still end the session; a visitor gets no logout form."""
    context = {"page_title": "Feil", "heading": "Feil", "message": "m", "reason": "R", "trace_id": ""}
    signed_in = render("error.html", "nb", "/pasient", make_session(csrf_token="tok"), **context)
    visitor = render("error.html", "nb", "/pasient", None, **context)
    assert '<form method="post" action="/logg-ut">' in signed_in and 'name="csrf" value="tok"' in signed_in
    assert "/logg-ut" not in visitor and 'name="csrf"' not in visitor


def test_a_missing_name_is_an_error() -> None:
    with pytest.raises(UndefinedError):
        render("landing.html", "nb", "/", None, logins=[], logged_out=False)  # no page_title
    with pytest.raises(UndefinedError):
        ENV.from_string("{{ missing.attribute }}").render()


def test_the_csrf_field_carries_the_sessions_token_escaped() -> None:
    session = make_session(csrf_token='t"><b>')
    html = ENV.from_string("{{ csrf_field() }}").render(base_context("nb", "/", session))
    assert html == '<input type="hidden" name="csrf" value="t&#34;&gt;&lt;b&gt;">'


def test_the_page_knows_its_language_and_offers_the_other() -> None:
    html = render("landing.html", "nb", "/", None, page_title="Forside", logins=[], logged_out=False)
    assert '<html lang="nb">' in html
    assert 'href="/sprak?til=en&amp;tilbake=%2F" lang="en" hreflang="en"' in html
    assert "<title>Forside – Samhandling</title>" in html
    assert html.count("<h1>") == 1 and '<main id="main"' in html and 'href="#main"' in html


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_no_template_has_inline_script_or_style() -> None:
    """Every area's templates, present and future: the CSP allows only files from /static/
    (a <script type="application/json"> data block is not code and is allowed)."""
    templates = sorted(TEMPLATES_DIR.rglob("*.html"))
    assert templates
    for template in templates:
        source = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(source):
                if what == "inline <script>" and 'type="application/json"' in match.group(0):
                    continue
                raise AssertionError(f"{template.relative_to(TEMPLATES_DIR)}: {what}: {match.group(0)}")


def _page() -> Page:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    return Page(Request(scope), None, None, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["//evil.test/", "https://evil.test/", "/\\evil.test", "evil", "", "/a b"])
def test_a_redirect_goes_only_to_a_local_path(target) -> None:
    with pytest.raises(ValueError):
        _page().redirect(target)


def test_a_redirect_is_303() -> None:
    answer = _page().redirect("/pasient/logg?side=2")
    assert answer.status_code == 303 and answer.headers["location"] == "/pasient/logg?side=2"


def test_a_download_is_an_attachment_with_a_plain_name() -> None:
    answer = _page().download(b"{}", "application/jose", "kvittering-v1.jws")
    assert answer.headers["content-disposition"] == 'attachment; filename="kvittering-v1.jws"'
    assert answer.headers["content-type"] == "application/jose"
    for name in ['a"; x=y', "../etc/passwd", "a\r\nSet-Cookie: x", "", ".hidden"]:
        with pytest.raises(ValueError):
            _page().download(b"", "text/plain", name)


def test_times_are_shown_in_oslo_in_each_language() -> None:
    winter = datetime(2026, 12, 5, 13, 3, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    assert texts("nb").format_time(winter) == "5. desember 2026 kl. 14.03"
    assert texts("en").format_time(winter) == "5 December 2026 at 14:03"
    assert texts("nb").format_time(summer) == "2. juli 2026 kl. 00.30"
    assert texts("en").format_time(summer, date_only=True) == "2 July 2026"
    assert texts("nb").format_time(datetime(2026, 12, 5, 13, 3)) == "5. desember 2026 kl. 14.03"  # naive = UTC


def test_page_language_before_login_follows_the_cookie_and_after_it_the_session() -> None:
    def page(cookie: str | None, session=None) -> Page:
        headers = [(b"cookie", f"__Host-sprak={cookie}".encode())] if cookie else []
        scope = {"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""}
        return Page(Request(scope), session, None, None)  # type: ignore[arg-type]

    assert page(None).lang == "nb" and page("en").lang == "en" and page("de").lang == "nb"
    assert page("en", make_session(lang="nb")).lang == "nb"
