"""The one free-text rule (services/platform/text.py); every field's use of it is tested through
the gateway in tests/integration/test_free_text.py."""
from __future__ import annotations

import pytest

from services.platform.text import TextField, text_problem, text_violations

LINE = TextField(20)
LINES = TextField(20, multiline=True)


@pytest.mark.parametrize(
    "value",
    ["", "Sårstell", "Ørnes – «Åse»", "10\u00a0000 kr", "اتاق‌ها", "👩\u200d⚕️", "a b\u2003c"],
)
def test_plain_text_in_any_script_passes(value):
    assert text_problem(value, LINE) is None


@pytest.mark.parametrize(
    ("value", "char"),
    [
        ("a\x00", "U+0000"), ("a\x1b[0m", "U+001B"), ("a\x7f", "U+007F"), ("a\x85", "U+0085"), ("a\x9b", "U+009B"),
        ("a\u202e", "U+202E"), ("a\u202a", "U+202A"), ("a\u2066", "U+2066"), ("a\u2069", "U+2069"),
        ("a\u200e", "U+200E"), ("a\u061c", "U+061C"), ("a\u200b", "U+200B"), ("a\ufeff", "U+FEFF"),
        ("a\u2028", "U+2028"), ("a\u2029", "U+2029"), ("a\ue000", "U+E000"), ("a\U000e0001", "U+E0001"),
        ("a\ud800", "U+D800"), ("a\U0010ffff", "U+10FFFF"), ("\x1c", "U+001C"),
    ],
)
def test_controls_format_and_separator_characters_are_refused_and_named(value, char):
    for spec in (LINE, LINES):
        problem = text_problem(value, spec)
        assert problem is not None and char in problem


@pytest.mark.parametrize("value", ["a\nb", "a\r\nb", "a\tb"])
def test_line_breaks_and_tabs_only_where_the_field_allows_them(value):
    assert text_problem(value, LINES) is None
    assert text_problem(value, LINE) is not None


def test_a_lone_carriage_return_is_no_line_break():
    assert text_problem("a\rb", LINES) is not None


def test_text_must_already_be_nfc():
    assert text_problem("Sa\u030ar", LINE) == "must be in Unicode normalisation form C (NFC)"
    assert text_problem("Sår", LINE) is None


def test_length_and_required():
    assert text_problem("x" * 20, LINE) is None
    assert text_problem("x" * 21, LINE) == "at most 20 characters"
    assert text_problem(" \n ", TextField(5, multiline=True, required=True)) == "required"
    assert text_violations({"a": ("ok", LINE), "b": ("\x00", LINE)}).keys() == {"b"}
