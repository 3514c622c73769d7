"""Boolean conditions of switch and condition tasks.

A condition is a small Python-like expression over references:

    ${extract.rows} > ${threshold}
    ${region} == 'cn' and ${evaluate.auc} >= 0.75
    ${train.model} in ('xgb', 'lgb')
    len(${split.files}) >= 2 or not ${dry_run}

Each `${name}`, `${task.key}` and `$[date]` outside quotes becomes a variable holding its value:
a string that reads as an int or float becomes that number, `true`/`false` (any case) a bool,
anything else stays a string, so compare strings with quoted literals (`${region} == 'cn'`; a
bare `cn` is an unknown name). Non-string outputs (numbers, bools, lists from a python task) are
used as they are. A reference inside a quoted literal is pasted in as text (`'${region}' ==
'cn'` also works). Escapes (`$${`) are as in `shoal.spec.templating`.

Allowed: comparisons (`== != < <= > >=`, chained), `in` / `not in`, `and` / `or` / `not`,
`+ - * / // %`, unary `-`, literals (numbers, strings, True/False/None, tuples, lists) and the
functions `int float str len abs min max`. Everything else (attributes, `**`, subscripts,
comprehensions, lambdas) is rejected before evaluation. A result that is not a bool counts by
its truthiness.

Pass the condition text as written (a task type's `raw_fields`), not pre-rendered: rendering
first would turn `${region}` into a bare word and lose the number/bool coercion.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from simpleeval import EvalWithCompoundTypes

from shoal.errors import ParamError
from shoal.spec.templating import (
    BUILTIN_NAMES,
    Scope,
    check_date_expr,
    coerce,
    find_references,
    output_text,
    render,
    scan_references,
)

FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "int": int, "float": float, "str": str, "len": len, "abs": abs, "min": min, "max": max,
})

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Constant, ast.Name, ast.Load, ast.Tuple, ast.List, ast.Call,
)
_OPERATOR_NODES = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
# Defence in depth: simpleeval gets only the operators the AST check lets through.
_OPERATORS: dict[type[ast.AST], Any] = {
    op: fn for op, fn in EvalWithCompoundTypes().operators.items() if op in _ALLOWED_NODES
}
_SUPPORTED = (
    "comparisons (== != < <= > >=), in / not in, and / or / not, + - * / // %, literals, "
    "tuples and lists, and the functions " + ", ".join(f"{f}()" for f in FUNCTIONS)
)
_STRING_RE = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
_VAR_PREFIX = "_ref"
_VAR_RE = re.compile(rf"\b{_VAR_PREFIX}\d+\b")

# How to get the value of one reference: (kind, name, key-or-expr) -> value.
_Lookup = Callable[[str, str, str], Any]


def evaluate_condition(expr: str, scope: Scope) -> bool:
    """Evaluate a condition against `scope`; any failure is a ParamError naming `expr`."""

    def lookup(kind: str, name: str, detail: str) -> Any:
        if kind == "param":
            return scope.param(name)
        if kind == "output":
            return scope.output(name, detail)
        return render(f"$[{detail}]", scope)  # also resolves a `${...}` inside the brackets

    check_condition(expr)  # a malformed condition is reported as such before any lookup
    try:
        text, names, labels = _substitute(expr, lookup)
    except ParamError as exc:
        raise ParamError(f"in condition `{expr}`: {exc.message}", condition=expr,
                         **exc.details) from None
    tree = _parse(expr, text, tuple(labels.items()))
    # simpleeval adds its compound-type constructors to the dict it is given: pass a copy.
    evaluator = EvalWithCompoundTypes(operators=dict(_OPERATORS), functions=dict(FUNCTIONS),
                                      names=names)
    try:
        result = evaluator.eval(text, previously_parsed=tree.body)
    except Exception as exc:  # simpleeval raises its own errors and the operators' TypeErrors
        values = ", ".join(f"{labels[var]} = {value!r}" for var, value in names.items())
        raise ParamError(
            f"cannot evaluate condition `{expr}`"
            f"{f' with {values}' if values else ''}: {exc}",
            condition=expr,
        ) from None
    return bool(result)


def check_condition(expr: str, known_params: Collection[str] | None = None) -> None:
    """Validate a condition without values: syntax, allowed constructs and date expressions.

    With `known_params`, a `${name}` that is neither in it nor a built-in is an error too.
    Output references are not checked here (that needs the DAG).
    """
    for ref in find_references(expr):
        if ref.kind == "date":
            check_date_expr(ref.expr)
        elif ref.kind == "param" and known_params is not None:
            name = ref.name
            if name not in known_params and name not in BUILTIN_NAMES:
                raise ParamError(
                    f"condition `{expr}` refers to unknown parameter `${{{name}}}`: define it "
                    f"under `params:` of the workflow or of the task",
                    condition=expr, param=name,
                )
    text, _, labels = _substitute(expr, lambda kind, name, detail: "x")
    _parse(expr, text, tuple(labels.items()))


def _substitute(expr: str, lookup: _Lookup) -> tuple[str, dict[str, Any], dict[str, str]]:
    """Replace references: by variables outside quotes, by their text inside quotes.

    Returns the new text, variable -> value, and variable -> reference text (for messages).
    """
    literals = [(m.start(), m.end(), m.group(0)[0]) for m in _STRING_RE.finditer(expr)]
    names: dict[str, Any] = {}
    labels: dict[str, str] = {}
    var_of: dict[tuple[str, str, str], str] = {}
    out: list[str] = []
    pos = 0
    for m in scan_references(expr):
        out.append(expr[pos:m.start()])
        pos = m.end()
        if m.group("esc"):
            out.append("$")
            continue
        if m.group("name"):
            name, key = m.group("name"), m.group("key") or ""
            ref = ("output", name, key) if key else ("param", name, "")
        else:
            ref = ("date", "", m.group("expr").strip())
        quote = next((q for start, end, q in literals if start < m.start() < end), None)
        if quote is not None:
            text = output_text(lookup(*ref))
            out.append(text.replace("\\", "\\\\").replace(quote, "\\" + quote)
                       .replace("\n", "\\n").replace("\r", "\\r"))
            continue
        var = var_of.get(ref)
        if var is None:
            var = var_of[ref] = f"{_VAR_PREFIX}{len(var_of)}"
            names[var] = coerce(lookup(*ref))
            labels[var] = m.group(0)
        # Spaces keep the variable a separate token whatever surrounds the reference.
        out.append(f" {var} ")
    out.append(expr[pos:])
    return "".join(out), names, labels


@lru_cache(maxsize=512)
def _parse(expr: str, text: str, labels: tuple[tuple[str, str], ...]) -> ast.Expression:
    names = dict(labels)

    def source(node: ast.AST) -> str:
        # Show the user's `${...}` rather than the variable standing in for it.
        return _VAR_RE.sub(lambda m: names.get(m.group(0), m.group(0)), ast.unparse(node))

    if not text.strip():
        raise ParamError("empty condition: write e.g. `${evaluate.auc} >= 0.75`", condition=expr)
    try:
        # Parentheses let a condition span lines, as YAML block scalars make it do.
        tree = ast.parse(f"(\n{text.strip()}\n)", mode="eval")
    except SyntaxError as exc:
        raise ParamError(f"invalid condition `{expr}`: {exc.msg}", condition=expr) from None
    for parent in ast.walk(tree):
        for node in ast.iter_child_nodes(parent):
            if not isinstance(node, _ALLOWED_NODES):
                # An operator node has no source of its own: show the operation using it.
                shown = parent if isinstance(node, _OPERATOR_NODES) else node
                raise ParamError(
                    f"`{source(shown)}` is not supported in condition `{expr}`; "
                    f"use {_SUPPORTED}",
                    condition=expr,
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) \
                    or node.keywords:
                raise ParamError(
                    f"unsupported call `{source(node)}` in condition `{expr}`; the "
                    f"functions are {', '.join(FUNCTIONS)} with positional arguments",
                    condition=expr,
                )
        elif isinstance(node, ast.Name) and node.id not in names and node.id not in FUNCTIONS:
            raise ParamError(
                f"unknown name `{node.id}` in condition `{expr}`: refer to values as "
                f"`${{param}}` or `${{task.key}}` and quote strings (`'{node.id}'`)",
                condition=expr, name=node.id,
            )
    return tree

