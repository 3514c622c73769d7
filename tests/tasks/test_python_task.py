"""The python task type's reading of a callable's parameters (whether it gets `ctx`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from shoal.tasks.python import _parameters


def _plain(x: int, y: int = 1, *args: Any, ctx: Any = None, **kw: Any) -> None: ...
def _positional_only(ctx: Any, /, z: int) -> None: ...
def _keyword_only(*, ctx: Any) -> None: ...
def _only_kwargs(**kw: Any) -> None: ...
def _locals_are_not_parameters(p: int) -> int:
    q = p + 1
    return q


class _CallableObject:
    def __call__(self, ctx: Any) -> None: ...


@functools.wraps(_plain)
def _wrapped(*a: Any, **k: Any) -> None: ...


CALLABLES: list[Callable[..., Any]] = [
    _plain, _positional_only, _keyword_only, _only_kwargs, _locals_are_not_parameters, _wrapped,
    _CallableObject(), lambda ctx: 0, functools.partial(_plain, 1), print,
]


@pytest.mark.parametrize("fn", CALLABLES)
def test_parameters_are_what_signature_says(fn: Callable[..., Any]) -> None:
    try:
        expected = frozenset(inspect.signature(fn).parameters)
    except ValueError:  # some builtins have none to report
        expected = frozenset()
    assert _parameters(fn) == expected
