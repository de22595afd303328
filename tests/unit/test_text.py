"""The one free-text rule (services/platform/text.py); every field's use of it is tested through
the gateway in tests/integration/test_free_text.py."""

from __future__ import annotations

import re
import unicodedata

import jsonschema_rs
import pytest

from services.platform.text import TextField, text_pattern, text_problem, text_violations

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
        ("a\x00", "U+0000"),
        ("a\x1b[0m", "U+001B"),
        ("a\x7f", "U+007F"),
        ("a\x85", "U+0085"),
        ("a\x9b", "U+009B"),
        ("a\u202e", "U+202E"),
        ("a\u202a", "U+202A"),
        ("a\u2066", "U+2066"),
        ("a\u2069", "U+2069"),
        ("a\u200e", "U+200E"),
        ("a\u061c", "U+061C"),
        ("a\u200b", "U+200B"),
        ("a\ufeff", "U+FEFF"),
        ("a\u2028", "U+2028"),
        ("a\u2029", "U+2029"),
        ("a\ue000", "U+E000"),
        ("a\U000e0001", "U+E0001"),
        ("a\ud800", "U+D800"),
        ("a\U0010ffff", "U+10FFFF"),
        ("\x1c", "U+001C"),
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


KINDS = [LINE, LINES, TextField(20, required=True), TextField(20, multiline=True, required=True)]


@pytest.mark.parametrize("spec", KINDS, ids=["line", "lines", "required line", "required lines"])
def test_every_ascii_character_is_judged_by_the_rule(spec):
    """ASCII text takes a shortcut past the loop over characters: each of the 128 characters, at
    either end of a text and alone, gets the answer the rule gives it."""
    for code in range(128):
        char = chr(code)
        allowed = 0x20 <= code <= 0x7E or (spec.multiline and char in "\n\t")
        for value in ("ab" + char, char + "ab", char):
            problem = text_problem(value, spec)
            if not allowed:
                assert problem is not None and f"U+{code:04X}" in problem, (value, problem)
            elif spec.required and not value.strip():
                assert problem == "required", value
            else:
                assert problem is None, (value, problem)
    assert text_problem("a\r\nb", spec) == (
        None if spec.multiline else "control, format or line-break character U+000D at position 1 is not allowed"
    )


def _left_to_the_description(value: str) -> bool:
    """What text_pattern leaves to the API description: unassigned, astral, lone surrogates, NFC."""
    return not unicodedata.is_normalized("NFC", value) or any(
        ord(c) > 0xFFFF or unicodedata.category(c) in ("Cn", "Cs") for c in value
    )


@pytest.mark.parametrize("spec", KINDS, ids=["line", "lines", "required line", "required lines"])
def test_the_pattern_states_the_rule_for_every_character_of_the_bmp(spec):
    """The API description's pattern is derived from the validator: over every BMP character, in
    several places of a value, the pattern accepts exactly what the validator accepts, but for
    what it leaves to the description."""
    pattern = re.compile(text_pattern(spec))
    for code in range(0x10000):
        char = chr(code)
        for value in (char, f"a{char}", f"{char}b", f"a{char}\r\nb", f" {char}", f"\r{char}"):
            accepted = text_problem(value, spec) is None
            assert bool(pattern.fullmatch(value)) == accepted or (not accepted and _left_to_the_description(value)), (
                f"U+{code:04X}",
                value,
            )


@pytest.mark.parametrize("spec", KINDS, ids=["line", "lines", "required line", "required lines"])
def test_the_pattern_is_ecma_262_as_other_engines_read_it(spec):
    """A Rust engine (jsonschema-rs) reads the pattern as Python does: it takes it, and refuses
    what the validator refuses of a sample (NUL, ESC, bidi override, private use, LS, lone CR)."""
    schema = {"type": "string", "pattern": text_pattern(spec)}
    for value in [
        "Sårstell",
        "a\x00",
        "a\x1b",
        "a\u202e",
        "a\ue000",
        "a\u2028",
        "a\rb",
        "a\nb",
        "a\r\nb",
        " ",
        "",
        "👩\u200d⚕️",
        "a\U000e0001",
    ]:
        assert jsonschema_rs.is_valid(schema, value) == (
            text_problem(value, spec) is None or _left_to_the_description(value)
        ), value
