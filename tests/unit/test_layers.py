"""The CLI and the client are faces over the service layer: they import nothing of shoal but
`shoal.cli`, `shoal.services` and `shoal.errors` (type-only imports aside), so the REST API can
call the very same functions. Read from the source, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "shoal"
FACES = sorted([*(PACKAGE / "cli").glob("*.py"), PACKAGE / "client.py"])
# shoal.api is the CLI's sibling over the services: `shoal api` starts it.
ALLOWED = ("shoal.cli", "shoal.services", "shoal.errors", "shoal.__version__", "shoal.api")


def _type_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def shoal_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import of a shoal module outside `if TYPE_CHECKING:` blocks."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "shoal" else [f"shoal.{a.name}" for a in node.names]
            found.extend((node.lineno, n) for n in names if n.split(".")[0] == "shoal")
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "shoal")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@pytest.mark.parametrize("path", FACES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_a_face_imports_only_the_service_layer(path: Path) -> None:
    wrong = [f"{path.name}:{line} imports {module}" for line, module in shoal_imports(ast.parse(path.read_text()))
             if not module.startswith(ALLOWED)]
    assert not wrong, "the CLI and the client call shoal.services (add what they need there):\n" + "\n".join(wrong)


def test_the_check_sees_imports_inside_functions_and_ignores_type_only_ones() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from shoal.engine import runs\n"
        "def f():\n    from shoal.store import Store\n    import shoal.engine.driver\n"
        "from shoal import services, engine\n"
    )
    assert [m for _, m in shoal_imports(tree)] == [
        "shoal.store", "shoal.engine.driver", "shoal.services", "shoal.engine"]
