"""The read-only register the pages show names from: health personnel by HPR number (name,
authorization, workplace) and organisations by org number (name, region, parent). Access
tokens and audit events carry numbers, not names. In development it is read from the seeds'
public-register stand-ins `personnel.json` and `organisations.json`, with person numbers
dropped on reading; in production it is empty and the pages
show the numbers."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.platform.settings import Settings

MAX_SEARCH_RESULTS = 20
MAX_QUERY_CHARS = 100
_HPR = re.compile(r"\d{9}")


@dataclass(frozen=True)
class HealthPerson:
    hpr_number: str
    name: str
    authorization: str  # HPR authorization code, e.g. SP (nurse), LE (physician)
    orgnr_parent: str
    orgnr_child: str


@dataclass(frozen=True)
class Organisation:
    orgnr: str
    name: str
    parent_orgnr: str | None
    kind: str  # municipality | point_of_care | health_trust | ...
    region: str


@dataclass(frozen=True)
class Directory:
    personnel: Mapping[str, HealthPerson] = field(default_factory=dict)  # by HPR number
    organisations: Mapping[str, Organisation] = field(default_factory=dict)  # by org number

    @classmethod
    def empty(cls) -> Directory:
        return cls()

    @classmethod
    def from_seeds(cls, seeds_dir: Path) -> Directory:
        """The dev register. A file that is missing is an empty part; one that is unreadable
        or malformed raises ValueError (the gateway refuses to start)."""
        try:
            return cls(_personnel(seeds_dir / "personnel.json"), _organisations(seeds_dir / "organisations.json"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"a register entry in {seeds_dir} lacks a field: {exc}") from None

    @classmethod
    def for_settings(cls, settings: Settings) -> Directory:
        return cls.empty() if settings.production else cls.from_seeds(settings.seeds_dir)

    def person(self, hpr_number: str) -> HealthPerson | None:
        return self.personnel.get(hpr_number)

    def organisation(self, orgnr: str) -> Organisation | None:
        return self.organisations.get(orgnr)

    def organisation_name(self, orgnr: str) -> str:
        """The name, or the number itself when the register does not know it."""
        org = self.organisations.get(orgnr)
        return org.name if org else orgnr

    def region_of(self, orgnr: str) -> str | None:
        org = self.organisations.get(orgnr)
        return (org.region or None) if org else None

    def points_of_care(self, parent_orgnr: str) -> list[Organisation]:
        return sorted((o for o in self.organisations.values() if o.parent_orgnr == parent_orgnr), key=lambda o: o.name)

    def search(self, query: str) -> list[HealthPerson]:
        """Health personnel by a 9-digit HPR number, or by every word of the query found in
        the name (case- and accent-insensitive); sorted by name, at most MAX_SEARCH_RESULTS."""
        query = query.strip()[:MAX_QUERY_CHARS]
        if _HPR.fullmatch(query):
            found = self.personnel.get(query)
            return [found] if found else []
        words = _fold(query).split()
        if not words:
            return []
        hits = [p for p in self.personnel.values() if all(w in _fold(p.name) for w in words)]
        return sorted(hits, key=lambda p: (p.name, p.hpr_number))[:MAX_SEARCH_RESULTS]


def _personnel(path: Path) -> dict[str, HealthPerson]:
    """By HPR number; the person number of each entry is not read."""
    personnel: dict[str, HealthPerson] = {}
    for entry in _entries(path):
        if entry.get("hpr_number"):
            person = HealthPerson(
                hpr_number=str(entry["hpr_number"]),
                name=str(entry["name"]),
                authorization=str(entry.get("authorization", "")),
                orgnr_parent=str(entry["orgnr_parent"]),
                orgnr_child=str(entry.get("orgnr_child") or ""),
            )
            personnel[person.hpr_number] = person
    return personnel


def _organisations(path: Path) -> dict[str, Organisation]:
    organisations: dict[str, Organisation] = {}
    for entry in _entries(path):
        org = Organisation(
            orgnr=str(entry["orgnr"]),
            name=str(entry["name"]),
            parent_orgnr=entry.get("parent_orgnr"),
            kind=str(entry.get("kind", "")),
            region=str(entry.get("region", "")),
        )
        organisations[org.orgnr] = org
    return organisations


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ø", "o").replace("æ", "ae")


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the register file {path.name}: {exc.__class__.__name__}") from None
    if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
        raise ValueError(f"the register file {path.name} is not a list of objects")
    return loaded
