"""Server-side rendering: Jinja2 with autoescaping on every template and StrictUndefined
(a name a template uses but the handler did not give is an error, never an empty string).
Every page gets the same context: `t` (the page language's texts), `format_time`, `lang`,
the session (or None), `csrf_field()` for forms, and the language switch's target."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape
from opentelemetry.trace import get_current_span
from starlette.responses import HTMLResponse

from .context import Lang
from .csrf import CSRF_FIELD
from .i18n_loader import texts

if TYPE_CHECKING:
    from .context import Page

TEMPLATES_DIR = Path(__file__).with_name("templates")
LANG_SWITCH_PATH = "/sprak"
MAX_BACK_CHARS = 1000  # the switch's `tilbake` (path and query); a longer query is not carried


def environment(directory: Path = TEMPLATES_DIR) -> Environment:
    return Environment(
        loader=FileSystemLoader(directory),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


ENV = environment()


def other_lang(lang: Lang) -> Lang:
    return "en" if lang == "nb" else "nb"


def base_context(lang: Lang, path: str, session: Any = None, query: str = "") -> dict[str, Any]:
    """`path` and `query`: the page's own, which the language switch comes back to."""
    catalog = texts(lang)
    token = session.csrf_token if session is not None else ""

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))

    switch = other_lang(lang)
    return {
        "t": catalog.t,
        "format_time": catalog.format_time,
        "lang": lang,
        "other_lang": switch,
        "lang_switch_url": f"{LANG_SWITCH_PATH}?{urlencode({'til': switch, 'tilbake': back_to(path, query)})}",
        "session": session,
        "csrf_field": csrf_field,
        "path": path,
    }


def back_to(path: str, query: str) -> str:
    """The page to come back to: its path and (when it is short enough to carry) its query."""
    return f"{path}?{query}" if query and len(path) + len(query) < MAX_BACK_CHARS else path


def render(template: str, lang: Lang, path: str, session: Any = None, **context: Any) -> str:
    return ENV.get_template(template).render(base_context(lang, path, session) | context)


def render_page(page: Page, template: str, status: int, context: dict[str, Any]) -> HTMLResponse:
    get_current_span().set_attribute("samhandling.web.template", template)  # the request's span
    request = page.request
    base = base_context(page.lang, request.url.path, page.session, request.url.query)
    html = ENV.get_template(template).render(base | context)
    return HTMLResponse(html, status_code=status)
