"""How the tests are laid out (docs/development.md, "Tests"): no test module imports another
test module; what tests share lives in tests/fixtures/, tests/support*.py or a conftest."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

# Imports of test modules still to be moved to tests/fixtures/: these files were being changed
# by other work when the rule was made, so their helpers move in a change of their own. The list
# may only shrink.
NOT_YET_MOVED = {
    ("browser/test_auditor_console.py", "tests.browser.test_web_login"),
    ("browser/test_auditor_console.py", "tests.integration.test_gateway"),
    ("browser/test_capacity_page.py", "tests.browser.test_web_login"),
    ("browser/test_patient_flows.py", "tests.browser.test_web_login"),
    ("browser/test_web_accessibility.py", "tests.browser.test_web_login"),
    ("browser/test_web_security.py", "tests.browser.test_web_login"),
    ("integration/test_audit_crash.py", "tests.integration.test_audit"),
    ("integration/test_audit_log.py", "tests.integration.test_audit"),
    ("integration/test_audit_patient_proof.py", "tests.integration.test_audit"),
    ("integration/test_audit_signals.py", "tests.integration.test_audit"),
    ("integration/test_audit_signals.py", "tests.integration.test_audit_search"),
}


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # nested imports too (inside a test function)
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported_test_modules(source: str) -> set[str]:
    """The test modules `source` imports (`tests.x.test_y`, or `test_y` from `tests.x`)."""
    return {name for name in imported_modules(ast.parse(source))
            if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_")
            and not name.endswith(".py")}


def test_no_test_module_imports_another_test_module() -> None:
    found = {(path.relative_to(TESTS).as_posix(), name)
             for path in sorted(TESTS.rglob("*.py")) for name in imported_test_modules(path.read_text())}
    found = {(path, ".".join(name.split(".")[:3])) for path, name in found}
    assert found - NOT_YET_MOVED == set(), "share through tests/fixtures/ or a conftest instead"
    assert NOT_YET_MOVED - found == set(), "moved: take it off NOT_YET_MOVED"


def test_the_check_sees_every_form_of_import() -> None:
    assert imported_test_modules("from tests.integration.test_sts import SEEDS") == {"tests.integration.test_sts"}
    assert imported_test_modules("import tests.unit.test_dpop") == {"tests.unit.test_dpop"}
    assert imported_test_modules("def f():\n    from tests.unit import test_dpop\n") == {"tests.unit.test_dpop"}
    assert imported_test_modules("from tests.fixtures.people import ESKIL\nfrom tests.support import free_port") == set()
