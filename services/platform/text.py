"""The one rule for free text a client sends (docs/architecture.md "Free text"), pure.

Every free-text field that enters a service — a note, a message, a reason, a justification, a
name, a source system's id — is checked here before it is stored or looked up:

- printable only: no C0/C1 controls (NUL, ESC, DEL, ...), no format characters (the bidi
  controls U+202A–U+202E and U+2066–U+2069, U+200E/U+200F, U+061C, zero-width spaces, U+FEFF,
  invisible operators ...; only the joiners U+200C/U+200D, which scripts and emoji need),
  no surrogates, private-use or unassigned code points, no U+2028/U+2029 separators;
- line breaks (LF or CRLF) and tabs only in a field that allows them (`multiline`);
- already in Unicode normalisation form C: text that is not NFC is refused, not rewritten, so what
  is stored is exactly what the caller sent (and compares equal to what it sends again);
- at most a per-field number of characters (code points).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

# Format characters (Cf) are refused but for these two, which Persian, Indic scripts and emoji
# sequences need and which cannot reorder text.
_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True)
class TextField:
    """What one free-text field allows."""

    max_chars: int
    multiline: bool = False
    required: bool = False


def text_problem(value: str, spec: TextField) -> str | None:
    """Why `value` is not acceptable for a field with `spec`, or None when it is."""
    if len(value) > spec.max_chars:
        return f"at most {spec.max_chars} characters"
    if value.isascii() and value.isprintable():
        # U+0020-U+007E only: letters, digits, punctuation, symbols and the space, none of them
        # refused, and ASCII is NFC. The common case, checked without a loop over the characters.
        return "required" if spec.required and not value.strip() else None
    for index, char in enumerate(value):
        if char in "\n\t" and spec.multiline:
            continue
        if char == "\r" and spec.multiline and value[index + 1 : index + 2] == "\n":
            continue
        if unicodedata.category(char) in _REFUSED_CATEGORIES and char not in _ALLOWED_FORMAT:
            where = "control, format or separator" if spec.multiline else "control, format or line-break"
            return f"{where} character U+{ord(char):04X} at position {index} is not allowed"
    if not unicodedata.is_normalized("NFC", value):
        return "must be in Unicode normalisation form C (NFC)"
    if spec.required and not value.strip():
        return "required"
    return None


def text_violations(fields: Mapping[str, tuple[str, TextField]]) -> dict[str, str]:
    """Field violations of several text fields at once: {field path: (value, spec)}."""
    problems: dict[str, str] = {}
    for path, (value, spec) in fields.items():
        if (problem := text_problem(value, spec)) is not None:
            problems[path] = problem
    return problems


# The rule above as a regular expression, for the API description (JSON Schema `pattern`,
# ECMA-262; Python's `re` and Rust's `regex` read it the same). It states what a pattern can state
# portably: the refused assigned characters of the Basic Multilingual Plane (C0/C1 controls,
# format and bidi characters, private use, the separators U+2028/U+2029; line breaks and tabs
# unless the field is multiline) and, for a required field, that it is not blank. Left to the
# description (PATTERN_LEAVES): code points outside the BMP (an engine without ECMA's `u` flag
# sees them as surrogate pairs), lone surrogates (no pattern engine of Rust takes them, and JSON
# text cannot carry them portably), unassigned code points (they depend on the Unicode version)
# and NFC.
PATTERN_LEAVES = "unassigned code points, refused ones outside the BMP, lone surrogates, and text that is not NFC"
_BMP = 0x10000


def _refused_in_pattern(char: str) -> bool:
    category = unicodedata.category(char)
    return category in _REFUSED_CATEGORIES - {"Cn", "Cs"} and char not in _ALLOWED_FORMAT


def _char_class(chars: list[int]) -> str:
    """The code points (sorted) as the inside of a character class, in ranges of \\uXXXX."""
    parts: list[str] = []
    start = previous = -2
    for code in [*chars, -1]:
        if code == previous + 1:
            previous = code
            continue
        if start >= 0:
            parts.append(f"\\u{start:04X}" if start == previous else f"\\u{start:04X}-\\u{previous:04X}")
        start = previous = code
    return "".join(parts)


@cache
def _bmp_tables() -> tuple[list[int], list[int]]:
    """(the refused characters a pattern states, the blank ones a required field may not be
    made of only), over the BMP; computed once, when a pattern is first asked for."""
    refused = [code for code in range(_BMP) if _refused_in_pattern(chr(code))]
    blank = [code for code in range(_BMP) if chr(code).isspace() and not _refused_in_pattern(chr(code))]
    return refused, blank


def text_pattern(spec: TextField) -> str:
    """A regular expression (ECMA-262, Python, Rust) that every value `text_problem` accepts for
    a field with `spec` matches, and that refuses all the rest but what PATTERN_LEAVES names.
    The length is the field's max_chars, stated apart (JSON Schema `maxLength`)."""
    refused_chars, blank_chars = _bmp_tables()
    breaks = {ord("\t"), ord("\n")} if spec.multiline else set()
    refused = _char_class([c for c in refused_chars if c not in breaks])
    any_char = _repeated(f"[^{refused}]", spec.multiline)
    if not spec.required:
        return f"^{any_char}$"
    blank = _char_class(sorted({*blank_chars, *breaks}))
    return f"^{_repeated(f'[{blank}]', spec.multiline)}[^{refused}{blank}]{any_char}$"


def _repeated(char_class: str, multiline: bool) -> str:
    """Any number of the class's characters, and of CRLF where the field is multiline."""
    return f"(?:{char_class}|\\r\\n)*" if multiline else f"{char_class}*"
