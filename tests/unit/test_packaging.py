"""The core install is the scheduler; the heavy libraries are extras (pyproject.toml).

Two checks keep it so. The dependency lists: the core names no heavy package, and each extra
installs what `shoal._extras.EXTRAS` says it does (that map is what error messages name). The
imports: a module that the core must be able to import (everything outside the extras' homes)
imports no optional package at module level, directly or through the shoal modules it imports at
module level; an import inside a function, under `if TYPE_CHECKING:` or in a `try` that handles
ImportError is fine. The import graph is read from the source (AST), so the check runs in the
full development install too, where every optional package is present.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest

from shoal import _extras
from shoal.tasks import registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "shoal"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

# Never in the core: each is large, compiled, or only needed by one part of shoal.
HEAVY = {
    "numpy", "pandas", "scikit-learn", "xgboost", "xgboost-cpu", "lightgbm", "gensim", "pyarrow",
    "duckdb", "sqlglot", "fastapi", "uvicorn", "orjson", "redis", "psycopg", "httpx", "jsonpath-ng",
    "prometheus-client",
}

# Where an extra's packages may be imported at module level: shoal's packages that exist for that
# extra, and the built-in task modules the registry checks the extra for before loading them.
HOMES: dict[str, str] = {
    "shoal.features": "features",
    "shoal.services.features": "features",  # loaded on first use by shoal.services' __getattr__
    "shoal.features.online.redis_store": "redis",  # loaded on first use by shoal.features.online
    "shoal.ml": "ml",
    "shoal.serving": "serve",
    "shoal.api": "serve",  # the REST API: FastAPI and uvicorn, as the model server
    # The CLI against a server: httpx, loaded by `shoal.services.remote.connect` under imports_of.
    "shoal.services.remote": "http",
    **{module: extra for module, (extra, _) in registry._NEEDS.items()},
}

# Core modules that still import an extra at module level, and what must change; each entry
# must still be a violation (the test says so once it is fixed, so the entry gets removed).
KNOWN: dict[str, str] = {}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def _extra_requirements(extra: str) -> set[str]:
    """The distributions `shoal[extra]` installs directly (self-references resolved)."""
    found: set[str] = set()
    for req in PYPROJECT["optional-dependencies"][extra]:
        name = _name(req)
        if name == "shoal":
            inner = re.search(r"\[(.*)\]", req)
            assert inner, req
            for sub in inner.group(1).split(","):
                found |= _extra_requirements(sub.strip())
        else:
            found.add(name)
    return found


@cache
def _modules_of_distribution() -> dict[str, set[str]]:
    by_dist: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            by_dist.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    return by_dist


def _closure(names: set[str]) -> set[str]:
    """`names` and every distribution they require, transitively (as installed here; a marker
    is not evaluated, so a requirement some platform needs counts: that only allows more)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        todo.extend(_name(r) for r in requires if "extra ==" not in r.replace('"', "").replace("'", ""))
    return seen


def _modules(dists: set[str]) -> set[str]:
    return set().union(*(_modules_of_distribution().get(d, {d.replace("-", "_")}) for d in dists))


def test_the_core_dependencies_are_the_scheduler_only() -> None:
    core = {_name(r) for r in PYPROJECT["dependencies"]}
    assert not core & HEAVY, f"heavy packages in the core install: {sorted(core & HEAVY)}"
    # Adding to the core is a decision: make it here too, with the reason in pyproject.toml.
    assert core == {
        "pydantic", "pydantic-settings", "pyyaml", "sqlalchemy", "alembic", "typer", "rich", "croniter",
        "tzdata", "psutil", "simpleeval", "fsspec",
    }


def test_each_extra_installs_the_modules_its_error_messages_name() -> None:
    declared = set(PYPROJECT["optional-dependencies"]) - {"dev", "all"}
    assert declared == set(_extras.EXTRAS)
    assert _extra_requirements("all") == set().union(*(_extra_requirements(e) for e in declared))
    for extra in declared:
        dists = _extra_requirements(extra)
        provided = _modules(dists)
        listed = set(_extras.EXTRAS[extra])
        assert listed <= provided, f"shoal[{extra}] does not install {sorted(listed - provided)}"
        for dist in dists:
            assert listed & _modules({dist}), f"shoal[{extra}] installs {dist}, which EXTRAS[{extra!r}] misses"


def _module_files() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


MODULES = dict(_module_files())


def _handles_import_error(node: ast.Try) -> bool:
    for handler in node.handlers:
        names = [handler.type] if not isinstance(handler.type, ast.Tuple) else handler.type.elts
        if handler.type is None or any(ast.unparse(n) in ("ImportError", "ModuleNotFoundError") for n in names):
            return True
    return False


def _module_level_imports(module: str) -> set[str]:
    """Every module `module` imports when it is imported (dotted names, parents included)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1 packages
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, ast.Try) and _handles_import_error(node):
                continue  # a guarded optional import
            elif isinstance(node, (ast.If, ast.With, ast.Try)):
                for field in ("body", "orelse", "finalbody"):
                    visit(getattr(node, field, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            # function and class bodies: a def's imports run when it is called; a class body's run
            # at import time, but shoal's classes import nothing in their bodies (see below)

    tree = ast.parse(path.read_text(), str(path))
    visit(tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                assert not isinstance(stmt, (ast.Import, ast.ImportFrom)), f"{module}: import in a class body"
    with_parents = set()
    for name in found:
        parts = name.split(".")
        with_parents.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return with_parents


@cache
def _third_party_reached(module: str) -> frozenset[tuple[str, str]]:
    """(third-party top-level package, the shoal module that imports it) reached by importing
    `module`, following shoal's own module-level imports."""
    reached: set[tuple[str, str]] = set()
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in _module_level_imports(current):
            top = name.partition(".")[0]
            if top == "shoal":
                if name in MODULES:
                    todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                reached.add((top, current))
    return frozenset(reached)


def _home(module: str) -> str | None:
    homes = [h for h in HOMES if module == h or module.startswith(h + ".")]
    return HOMES[max(homes, key=len)] if homes else None


@cache
def _allowed(extra: str | None) -> set[str]:
    """The third-party packages a module may import at module level: the core's, and its extra's."""
    core = _modules(_closure({_name(r) for r in PYPROJECT["dependencies"]}))
    return core if extra is None else core | _modules(_closure(_extra_requirements(extra)))


def _violations() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for module in MODULES:
        allowed = _allowed(_home(module))
        bad = sorted(f"{top} (imported by {via})" for top, via in _third_party_reached(module) if top not in allowed)
        if bad:
            found[module] = bad
    return found


def test_the_core_modules_import_no_optional_package_at_import_time() -> None:
    violations = _violations()
    unexpected = {m: v for m, v in violations.items() if m not in KNOWN}
    assert not unexpected, (
        "these modules must import without the extras: move the import into the function that "
        f"needs it, or call shoal._extras.require first: {unexpected}"
    )
    fixed = sorted(set(KNOWN) - set(violations))
    assert not fixed, f"{fixed} import no optional package any more: remove them from KNOWN"


def test_the_import_check_sees_a_module_level_optional_import(tmp_path: Path) -> None:
    """The check above must be able to fail: a core module that imports a module which imports
    numpy at module level is reported, through the chain."""
    MODULES["shoal.engine._probe"] = tmp_path / "probe.py"
    MODULES["shoal.engine._probe_dep"] = tmp_path / "probe_dep.py"
    (tmp_path / "probe.py").write_text("from shoal.engine import _probe_dep\n\ndef f():\n    import pandas\n")
    (tmp_path / "probe_dep.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import fastapi\n"
        "try:\n    import orjson\nexcept ImportError:\n    orjson = None\nimport numpy as np\n"
    )
    try:
        violations = _violations()
    finally:
        del MODULES["shoal.engine._probe"], MODULES["shoal.engine._probe_dep"]
        _third_party_reached.cache_clear()
    assert violations["shoal.engine._probe"] == ["numpy (imported by shoal.engine._probe_dep)"]


@pytest.mark.parametrize("module", sorted(registry._NEEDS))
def test_each_task_module_the_registry_checks_is_a_real_task_module(module: str) -> None:
    assert module in MODULES
    assert module in {ep.module for eps in registry._declared().values() for ep in eps}
