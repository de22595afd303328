"""The README's error and configuration tables cannot drift from the code: every reason passed
to the error helpers of services/platform/errors.py anywhere in services/ and gateway/ (and to
the errors that carry a reason to them: DpopError, TokenError, HttpRefusal, ...), and
every SAMHANDLING_* variable settings.py reads, is named in the README."""
from __future__ import annotations

import ast
import re
from pathlib import Path

from services.platform.settings import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
# helper name -> position of its reason argument (ServiceError(code, reason, ...))
REASON_POSITION = {"unauthenticated": 0, "permission_denied": 0, "not_found": 0, "unavailable": 0, "ServiceError": 1}
REASON = re.compile(r"[A-Z][A-Z0-9_]+")


def _called(node: ast.Call) -> str:
    return node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""


def raised_reasons() -> dict[str, str]:
    """Each reason string literal given to an error helper -> where (file:line)."""
    found: dict[str, str] = {}
    for root in ("services", "gateway"):
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Call):
                    continue
                name = _called(node)
                arguments: list[ast.expr] = [k.value for k in node.keywords if k.arg == "reason"]
                if name in REASON_POSITION and len(node.args) > REASON_POSITION[name]:
                    arguments.append(node.args[REASON_POSITION[name]])
                elif name.endswith(("Error", "Refusal")):  # errors carrying a reason: DpopError("DPOP_..."), HttpRefusal
                    arguments += node.args[:2]
                for argument in arguments:
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str) \
                            and REASON.fullmatch(argument.value):
                        found.setdefault(argument.value, f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    return found


def test_every_raised_reason_is_in_the_readme_error_table() -> None:
    reasons = raised_reasons()
    assert len(reasons) > 30  # the walk found the helpers' calls
    missing = {r: where for r, where in reasons.items() if f"`{r}`" not in README}
    assert not missing, f"reasons missing from the README's error table: {missing}"


def test_every_setting_read_is_in_the_readme_configuration_table() -> None:
    source = (REPO_ROOT / "services" / "platform" / "settings.py").read_text()
    variables = set(re.findall(r"\"(SAMHANDLING_[A-Z0-9_]+)\"", source))
    # Per-component names (f"SAMHANDLING_{c.upper()}_ADDR"): one row each, with the placeholder.
    templates = set(re.findall(r"SAMHANDLING_\{\w+\.upper\(\)\}(_[A-Z_]+)", source))
    assert len(variables) > 20 and templates
    missing = sorted(v for v in variables if f"`{v}`" not in README)
    missing += sorted(t for t in templates
                      if f"`SAMHANDLING_<COMPONENT>{t}`" not in README and f"`SAMHANDLING_<BACKEND>{t}`" not in README)
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_the_walk_sees_a_reason_in_each_form(tmp_path: Path) -> None:
    assert "TOO_MANY_SUBSCRIBERS" in raised_reasons()  # unavailable(...)
    assert "GATEWAY_ASSERTION_REFUSED" in raised_reasons()  # ServiceError(code, reason, ...)
