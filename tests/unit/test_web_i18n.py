"""The pages' texts: both languages have the same keys in every area, no key is defined by
two areas, every text a template or a web module names exists, and every error a page can
show has words in both languages."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import grpc
import pytest

from gateway.web.context import CONSOLES, LANGS
from gateway.web.i18n_loader import I18N_DIR, CatalogError, MissingText, load_catalogs, texts
from gateway.web.render import TEMPLATES_DIR

WEB_DIR = I18N_DIR.parent
# t("key") or t("key", ...): a literal key; t("prefix." ~ x) builds one and is checked by name below.
TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([^"']+)["']\s*[,)]""")


def test_the_catalogs_load_and_have_the_same_keys_in_both_languages() -> None:
    catalogs = load_catalogs()
    assert set(catalogs) == set(LANGS)
    assert catalogs["nb"].keys() == catalogs["en"].keys()
    assert len(catalogs["nb"]) > 50


def test_no_text_is_empty_or_untranslated_placeholder() -> None:
    catalogs = load_catalogs()
    for key, text in catalogs["nb"].items():
        assert text.strip(), key
        # The same placeholders in both languages, so t(key, **params) fills either.
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", catalogs["en"][key])), key


def _template_keys() -> set[str]:
    keys: set[str] = set()
    for template in TEMPLATES_DIR.rglob("*.html"):
        keys |= set(TEMPLATE_KEY.findall(template.read_text()))
    return keys


def _python_keys() -> set[str]:
    """Literal keys given to `.t(...)` in the web modules."""
    keys: set[str] = set()
    for module in WEB_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "t"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                keys.add(node.args[0].value)
    return keys


def test_every_text_named_in_a_template_or_module_exists() -> None:
    catalog = load_catalogs()["nb"]
    named = _template_keys() | _python_keys()
    assert "common.landing.title" in named and "common.landing.page" in named
    assert not sorted(k for k in named if k not in catalog)
    # Built keys: the landing page's login choices, month names, error headings.
    for console in CONSOLES:
        assert f"common.landing.{console}" in catalog and f"common.console.{console}" in catalog
    assert all(f"common.month.{m}" in catalog for m in range(1, 13))
    assert "error.status.400" in catalog and "error.status.500" in catalog


def test_every_text_of_the_login_area_is_used() -> None:
    """The login's own texts (its error words are checked below) are all named somewhere, in
    both languages: no leftovers of pages that do not exist."""
    named = _template_keys() | _python_keys()
    for lang, catalog in load_catalogs().items():
        assert sorted(k for k in catalog if k.startswith("login.") and k not in named) == [], lang


def test_every_status_code_has_a_message() -> None:
    catalog = load_catalogs()
    for code in grpc.StatusCode:
        if code != grpc.StatusCode.OK:
            assert f"error.code.{code.name}" in catalog["nb"], code


def _web_reasons() -> set[str]:
    """The catalogue's reasons the web modules raise: `Reason.X` anywhere but in a comparison."""
    reasons: set[str] = set()
    for module in WEB_DIR.glob("*.py"):
        tree = ast.parse(module.read_text())
        compared = {id(n) for c in ast.walk(tree) if isinstance(c, ast.Compare) for n in ast.walk(c)}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Reason"
                and id(node) not in compared
            ):
                reasons.add(node.attr)
    return reasons


def test_every_reason_the_web_modules_raise_has_words() -> None:
    reasons = _web_reasons()
    assert {"WEB_CSRF_REFUSED", "WEB_WRONG_CONSOLE"} <= reasons
    catalog = load_catalogs()["nb"]
    # And the HTTP layer's own refusals that pages answer with.
    for reason in reasons | {"ROUTE_NOT_FOUND", "HTTP_METHOD_NOT_ALLOWED", "UNSUPPORTED_MEDIA_TYPE", "BODY_TOO_LARGE"}:
        assert f"error.reason_text.{reason}" in catalog, reason


def test_t_fills_placeholders_and_refuses_unknown_keys() -> None:
    assert texts("nb").t("error.reason", reason="X") == "Feilkode: X"
    assert texts("en").t("common.title", page="Log") == "Log – Samhandling"
    with pytest.raises(MissingText):
        texts("nb").t("finnes.ikke")


def _write(directory: Path, name: str, content: object) -> None:
    (directory / name).write_text(json.dumps(content))


def test_an_area_with_a_key_in_one_language_only_is_refused(tmp_path) -> None:
    _write(tmp_path, "patient.nb.json", {"patient": {"a": "A", "b": "B"}})
    _write(tmp_path, "patient.en.json", {"patient": {"a": "A"}})
    with pytest.raises(CatalogError, match="patient.b"):
        load_catalogs(tmp_path)


def test_an_area_without_one_language_is_refused(tmp_path) -> None:
    _write(tmp_path, "auditor.nb.json", {"auditor": {"a": "A"}})
    with pytest.raises(CatalogError, match="no en catalog"):
        load_catalogs(tmp_path)


def test_a_key_of_two_areas_is_refused(tmp_path) -> None:
    for area in ("patient", "auditor"):
        for lang in LANGS:
            _write(tmp_path, f"{area}.{lang}.json", {"error": {"reason_text": {"CONSENT_DENIED": "x"}}})
    with pytest.raises(CatalogError, match="defined by both"):
        load_catalogs(tmp_path)


@pytest.mark.parametrize("content", [{"a": 1}, {"a": ["x"]}, ["x"], {"a": None}])
def test_a_text_that_is_not_a_string_is_refused(tmp_path, content) -> None:
    for lang in LANGS:
        _write(tmp_path, f"common.{lang}.json", content)
    with pytest.raises(CatalogError):
        load_catalogs(tmp_path)
