"""Optional dependencies: which extra (`pip install 'shoal[ml]'`) brings which importable module,
and errors that name the extra to install when one is missing.

The core install is the scheduler; the feature engine, the ML libraries, the model server, the
PostgreSQL and Redis drivers and the http task's client are extras (pyproject.toml). Code that
needs one calls `require(extra)` before using it, or wraps its imports in `imports_of(what)`, so a
user sees "the model server needs `pip install 'shoal[serve]'`" instead of a traceback ending in
`ModuleNotFoundError: No module named 'fastapi'`.

The map below must list what pyproject.toml's extras install (tests/test_packaging.py checks it).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from shoal.errors import InvalidInput

# Extra -> the top-level modules it makes importable (import names, not distribution names:
# `sklearn` comes from scikit-learn, `xgboost` from xgboost-cpu or xgboost). An extra that
# includes another (ml includes features) lists that one's modules too, after its own (messages
# name the first few missing ones).
_FEATURES = ("duckdb", "pytz", "sqlglot", "pyarrow", "numpy")
_ML = tuple(dict.fromkeys(("numpy", "pandas", "sklearn", "xgboost", "lightgbm", "gensim", *_FEATURES)))
EXTRAS: dict[str, tuple[str, ...]] = {
    "postgres": ("psycopg",),
    "features": _FEATURES,
    "ml": _ML,
    "serve": ("fastapi", "uvicorn", "orjson", "prometheus_client", *_ML),
    "redis": ("redis",),
    "http": ("httpx", "jsonpath_ng"),
}

# Module -> the smallest extra that brings it (for turning a ModuleNotFoundError into advice).
_EXTRA_OF: dict[str, str] = {}
for _extra, _modules in sorted(EXTRAS.items(), key=lambda item: len(item[1]), reverse=True):
    _EXTRA_OF.update(dict.fromkeys(_modules, _extra))


class MissingExtra(InvalidInput, ImportError):
    """Raised when a task type, command or library entry point needs an optional dependency that
    is not installed; the message names the extra to install. Nothing was changed. An
    ImportError too, so library code that guards an import with `except ImportError` sees it."""

    code = "missing_extra"


def extra_of(module: str) -> str | None:
    """The extra that installs `module` (a dotted name: its top-level package counts); None when
    no extra does (a core dependency, or some other package)."""
    return _EXTRA_OF.get(module.partition(".")[0])


def is_installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (a task-type lookup must stay cheap:
    the fork server forks task processes and every import it makes slows each fork)."""
    if module in sys.modules:
        # A None entry is how Python marks a module as unimportable (and how tests hide one).
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that cannot be imported, or a broken spec
        return False


def missing(extra: str, *modules: str) -> list[str]:
    """Which of `modules` (default: every module of `extra`) are not installed."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; extras are: {', '.join(sorted(EXTRAS))}")
    return [m for m in (modules or EXTRAS[extra]) if not is_installed(m)]


def advice(what: str, extra: str, absent: list[str]) -> str:
    """The message: who needs which extra, what is missing (the first few), how to install it."""
    shown = ", ".join(absent[:4]) + (f" and {len(absent) - 4} more" if len(absent) > 4 else "")
    return f"{what} needs shoal[{extra}] (missing: {shown}); install it with: pip install 'shoal[{extra}]'"


def require(extra: str, *modules: str, what: str | None = None) -> None:
    """Raise MissingExtra unless every one of `modules` (default: all of `extra`'s) is installed.

    `what` says who needs them, e.g. "task type 'train'" or "`shoal model serve`"."""
    absent = missing(extra, *modules)
    if absent:
        raise MissingExtra(advice(what or f"this part of shoal ({extra})", extra, absent), extra=extra, missing=absent)


@contextmanager
def imports_of(what: str) -> Iterator[None]:
    """Turn a ModuleNotFoundError for a module an extra provides into MissingExtra naming the
    extra; any other ModuleNotFoundError (a bug, or a package no extra provides) passes through."""
    try:
        yield
    except ModuleNotFoundError as exc:
        extra = extra_of(exc.name or "")
        if extra is None:
            raise
        raise MissingExtra(
            advice(what, extra, [exc.name or ""]), extra=extra, missing=[exc.name]
        ) from exc
