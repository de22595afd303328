"""The doc comments of the protos (buf lint requires one on every element), read from the
.proto sources that sit beside their generated modules: the generated descriptors carry no
comments. Keys are full names: package.Message, package.Message.field, package.Enum.VALUE,
package.Service.Method. A missing source just means no descriptions."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

_PACKAGE = re.compile(r"package\s+([\w.]+)\s*;")
_BLOCK = re.compile(r"(message|enum|service|oneof)\s+(\w+)\s*\{")
_RPC = re.compile(r"rpc\s+(\w+)\s*\(")
_FIELD = re.compile(r"(?:repeated\s+|optional\s+)?(?:map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+")
_ENUM_VALUE = re.compile(r"(\w+)\s*=\s*-?\d+")


def comments_of(*modules: ModuleType) -> dict[str, str]:
    """Comments of the .proto files behind generated `*_pb2` modules."""
    found: dict[str, str] = {}
    for module in modules:
        source = Path(module.__file__ or "").with_name(Path(module.DESCRIPTOR.name).name)
        if source.is_file():
            found |= parse_comments(source.read_text(encoding="utf-8"))
    return found


def parse_comments(text: str) -> dict[str, str]:
    """Leading `//` comments of each element of one .proto file in buf style."""
    comments: dict[str, str] = {}
    package, pending = "", []
    scopes: list[tuple[str, str]] = []  # (kind, full name); a oneof keeps its message's name
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            pending.append(line[2:].strip())
            continue
        name = None
        if match := _PACKAGE.match(line):
            package = match[1]
        elif match := _BLOCK.match(line):
            kind, ident = match[1], match[2]
            outer = scopes[-1][1] if scopes else package
            name = f"{outer}.{ident}"
            scopes.append((kind, outer if kind == "oneof" else name))
        elif scopes and (match := _RPC.match(line)):
            name = f"{scopes[-1][1]}.{match[1]}"
        elif scopes and scopes[-1][0] == "enum" and (match := _ENUM_VALUE.match(line)):
            name = f"{scopes[-1][1]}.{match[1]}"
        elif scopes and (match := _FIELD.match(line)):
            name = f"{scopes[-1][1]}.{match[1]}"
        if scopes and (line.startswith("}") or (line.endswith("}") and _BLOCK.match(line))):
            scopes.pop()  # a block's end, or an empty block on one line: `message X {}`
        if name and pending:
            comments[name] = " ".join(pending)
        pending = []
    return comments
