"""How the tests are laid out (docs/development.md, "Tests"): no test module imports another
test module; what tests share lives in tests/fixtures/, tests/support*.py or a conftest."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):  # nested imports too (inside a test function)
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and (script := python_code(node.value)):
            names.update(imported_modules(script))  # a script a child process runs (`python -c SCRIPT`)
    return names


def python_code(text: str) -> ast.Module | None:
    """`text` parsed as Python if it may be code a child process runs: a string literal that
    mentions `import` and parses. Prose that happens to parse holds no import statement."""
    if "import" not in text:
        return None
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def imported_test_modules(source: str) -> set[str]:
    """The test modules `source` imports (`tests.x.test_y`, or `test_y` from `tests.x`)."""
    return {
        name
        for name in imported_modules(ast.parse(source))
        if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_") and not name.endswith(".py")
    }


def test_no_test_module_imports_another_test_module() -> None:
    # This module's own examples below are strings of Python that import test modules: not scanned.
    found = {
        (path.relative_to(TESTS).as_posix(), name)
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()
        for name in imported_test_modules(path.read_text())
    }
    found = {(path, ".".join(name.split(".")[:3])) for path, name in found}
    assert found == set(), "share through tests/fixtures/ or a conftest instead"


def test_the_check_sees_every_form_of_import() -> None:
    assert imported_test_modules("from tests.integration.test_sts import SEEDS") == {"tests.integration.test_sts"}
    assert imported_test_modules("import tests.unit.test_dpop") == {"tests.unit.test_dpop"}
    assert imported_test_modules("def f():\n    from tests.unit import test_dpop\n") == {"tests.unit.test_dpop"}
    assert (
        imported_test_modules("from tests.fixtures.people import ESKIL\nfrom tests.support import free_port") == set()
    )


def test_the_check_sees_imports_in_a_script_a_child_process_runs() -> None:
    script = 'CHILD = """\nimport os\nfrom tests.integration.test_audit import record\n"""\n'
    assert imported_test_modules(script) == {"tests.integration.test_audit"}
    nested = "def f():\n    run(['python', '-c', 'import tests.unit.test_dpop'])\n"
    assert imported_test_modules(nested) == {"tests.unit.test_dpop"}
    prose = 'HELP = "Never import tests.unit.test_dpop; share through tests/fixtures/."\n'
    assert imported_test_modules(prose) == set()  # words about an import, not Python that imports
