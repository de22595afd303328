"""The pages' texts: one JSON catalog per area and language, `i18n/<area>.<nb|en>.json`
(nested objects flatten to dotted keys), merged into one table per language. Loading refuses
an area whose languages differ in keys and a key defined by two areas, so every page has
every text in both languages. `Texts.t(key, **params)` fills `{name}` placeholders; an
unknown key raises (templates run with StrictUndefined in the same spirit). Times are shown
in Europe/Oslo by `format_time`, without a locale library."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .context import LANGS, Lang

I18N_DIR = Path(__file__).with_name("i18n")
OSLO = ZoneInfo("Europe/Oslo")


class MissingText(KeyError):
    pass


class CatalogError(ValueError):
    pass


@dataclass(frozen=True)
class Texts:
    lang: Lang
    table: Mapping[str, str]

    def t(self, key: str, /, **params: Any) -> str:
        try:
            text = self.table[key]
        except KeyError:
            raise MissingText(f"no text {key!r} in the {self.lang} catalogs") from None
        return text.format_map(params) if params else text

    def has(self, key: str) -> bool:
        return key in self.table

    def format_time(self, moment: datetime, *, date_only: bool = False) -> str:
        """`5. desember 2026 kl. 14.03` / `5 December 2026 at 14:03`, Oslo time; a naive
        datetime is taken as UTC."""
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(OSLO)
        month = self.t(f"common.month.{local.month}")
        if self.lang == "nb":
            day = f"{local.day}. {month} {local.year}"
            return day if date_only else f"{day} kl. {local:%H.%M}"
        day = f"{local.day} {month} {local.year}"
        return day if date_only else f"{day} at {local:%H:%M}"


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= flatten(value, name + ".")
        elif isinstance(value, str):
            flat[name] = value
        else:
            raise CatalogError(f"{name}: a text must be a string, not {type(value).__name__}")
    return flat


def load_catalogs(directory: Path = I18N_DIR) -> dict[Lang, dict[str, str]]:
    """Language -> key -> text over every area's catalog in `directory`."""
    areas = sorted({p.name.split(".")[0] for p in directory.glob("*.json")})
    merged: dict[Lang, dict[str, str]] = {lang: {} for lang in LANGS}
    owner: dict[str, str] = {}
    for area in areas:
        per_lang: dict[Lang, dict[str, str]] = {}
        for lang in LANGS:
            path = directory / f"{area}.{lang}.json"
            try:
                per_lang[lang] = flatten(json.loads(path.read_text(encoding="utf-8")))
            except FileNotFoundError:
                raise CatalogError(f"{area}: no {lang} catalog ({path.name})") from None
            except (ValueError, AttributeError) as exc:
                raise CatalogError(f"{path.name}: not a JSON object of texts ({exc})") from None
        differ = set(per_lang["nb"]) ^ set(per_lang["en"])
        if differ:
            raise CatalogError(f"{area}: keys in one language only: {sorted(differ)}")
        for key in per_lang["nb"]:
            if key in owner:
                raise CatalogError(f"{key!r} is defined by both {owner[key]} and {area}")
            owner[key] = area
        for lang in LANGS:
            merged[lang] |= per_lang[lang]
    return merged


@functools.cache
def texts(lang: Lang) -> Texts:
    return Texts(lang, load_catalogs()[lang])
