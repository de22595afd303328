"""The docs' tables that mirror code cannot drift from it: every SAMHANDLING_* variable
settings.py reads is a row of docs/configuration.md, and docs/json-api.md's route table is
exactly the JSON API's route table (gateway/http/routes.py), each route beside its gRPC method.
(The error reasons are catalogued in docs/errors.md, checked by its own test.)"""

from __future__ import annotations

import re

from gateway.http.routes import API_ROUTES, RECEIPT_KEYS_PATH
from services.platform.settings import REPO_ROOT

DOCS = REPO_ROOT / "docs"


def table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row (header and separator rows included)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        for line in text.splitlines()
        if line.startswith("|")
    ]


def test_every_setting_read_is_in_the_configuration_table() -> None:
    source = (REPO_ROOT / "services" / "platform" / "settings.py").read_text()
    variables = set(re.findall(r"\"(SAMHANDLING_[A-Z0-9_]+)\"", source))
    # Per-component names (f"SAMHANDLING_{c.upper()}_ADDR"): one row each, with the placeholder.
    templates = set(re.findall(r"SAMHANDLING_\{\w+\.upper\(\)\}(_[A-Z_]+)", source))
    assert len(variables) > 20 and templates
    first_cells = " ".join(row[0] for row in table_rows((DOCS / "configuration.md").read_text()))
    missing = sorted(v for v in variables if f"`{v}`" not in first_cells)
    missing += sorted(
        t
        for t in templates
        if f"`SAMHANDLING_<COMPONENT>{t}`" not in first_cells and f"`SAMHANDLING_<BACKEND>{t}`" not in first_cells
    )
    assert not missing, f"settings missing from docs/configuration.md's table: {missing}"


def documented_routes() -> dict[tuple[str, str], str]:
    """(HTTP method, path template) -> the gRPC cell of its row in docs/json-api.md."""
    routes: dict[tuple[str, str], str] = {}
    for row in table_rows((DOCS / "json-api.md").read_text()):
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/api/[^`\[?]+)", row[0]):
            assert (method, path) not in routes, f"{method} {path} has two rows"
            routes[(method, path)] = row[1] if len(row) > 1 else ""
    return routes


def test_the_route_table_is_the_json_apis() -> None:
    documented = documented_routes()
    served = {(r.http_method, r.path): r.rpc.rsplit("/", 1)[1] for r in API_ROUTES}
    served[("GET", RECEIPT_KEYS_PATH)] = "receipt-signing JWK Set"
    assert set(documented) == set(served), (
        f"routes served but not in docs/json-api.md: {sorted(set(served) - set(documented))}; "
        f"documented but not served: {sorted(set(documented) - set(served))}"
    )
    wrong = {f"{m} {p}": served[(m, p)] for (m, p), cell in documented.items() if served[(m, p)] not in cell}
    assert not wrong, f"rows of docs/json-api.md that do not name the route's gRPC method: {wrong}"


def named_constants() -> dict[str, int]:
    """Module-level `MAX_* = <int>` constants of services/ and gateway/."""
    found: dict[str, int] = {}
    for root in ("services", "gateway"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            for name, value in re.findall(
                r"^(MAX_[A-Z0-9_]+)(?:: *\w+)? *= *([0-9_]+)\s*(?:#.*)?$", path.read_text(), re.M
            ):
                found[name] = int(value)
    return found


def test_every_limit_the_docs_name_is_a_constant_and_a_limits_row_states_its_value() -> None:
    constants = named_constants()
    named = {m for doc in DOCS.glob("*.md") for m in re.findall(r"`(MAX_[A-Z0-9_]+)`", doc.read_text())}
    assert named and not named - set(constants), f"docs name limits the code does not have: {named - set(constants)}"
    wrong = []
    for row in table_rows((DOCS / "limits.md").read_text()):
        for name in re.findall(r"`(MAX_[A-Z0-9_]+)`", " | ".join(row)):
            value = constants[name]
            if not {f"{value}", f"{value:,}", f"{value:,}".replace(",", " ")} & set(
                re.findall(r"\d[\d, ]*\d|\d", " | ".join(row))
            ):
                wrong.append(f"{name} = {value}: {row[:2]}")
    assert not wrong, f"rows of docs/limits.md whose value is not the constant's: {wrong}"
