"""`${...}` parameter references and `$[...]` date expressions inside task fields.

Syntax
- `${name}`: a parameter, looked up in this order: run-time params (`-p name=value`), the task's
  `params`, the workflow's `params`, then the built-ins (`BUILTIN_NAMES`). A parameter's value
  may itself contain references (`out: /data/${ds}`); they are resolved recursively and a cycle
  (`a -> b -> a`) is an error naming it. Inside its own value, `${name}` means the *next layer
  down* (a run-time `out=${out}/retry` extends the workflow's `out`), as `PATH=$PATH:...` does.
- `${task.key}`: output `key` of task `task` (which must be upstream of the reader). Outputs are
  data, never templates: a `$` in an output is kept as is. Non-string outputs render as JSON
  (dict, list) or `str()` (anything else).
- `$[...]`: the logical date, in the schedule's timezone, formatted with a DolphinScheduler-style
  pattern and optionally shifted (see "Date expressions").
- Escapes: `$${` renders as `${` and `$$[` as `$[`, so a shell script can keep its own
  `$${HOME}`; any other `$` (`$$`, `$1`, `${VAR:-x}`) is left alone. A `${...}` that is not a
  valid reference (`${VAR:-default}`, `${#arr[@]}`) is shell syntax and is also left alone.

Built-ins (`build_builtins`): `ds` (2026-03-01), `ds_nodash` (20260301), `yesterday_ds`,
`tomorrow_ds` — dates of the logical date in the schedule's timezone; `logical_date` (ISO 8601
with the schedule's offset, 2026-03-01T00:30:00+08:00); `ts` (the same instant in UTC, ISO 8601,
2026-02-28T16:30:00+00:00, as Airflow's `ts`) and `ts_nodash` (20260228T163000); `run_id`,
`workflow`, `project`, and inside a task `task` and `attempt`.

Date expressions (`$[...]`, whitespace around parts is ignored)
- Pattern letters (Java style): `yyyy` `yy` `MM` `dd` `HH` `mm` `ss`; literal separators
  `-` `/` `_` `.` `:` and space. `$[yyyyMMdd]`, `$[yyyy-MM-dd]`, `$[yyyyMMddHHmmss]`, `$[HHmmss]`.
- Shift by days: `$[yyyyMMdd-1]`, `$[yyyy-MM-dd+7]`, `$[yyyyMMdd-7*2]`; by hours `N/24` and
  minutes `N/24/60`: `$[yyyyMMddHHmmss-1/24]`, `$[HHmmss+30/24/60]`. Whole-day shifts move the
  wall-clock date (a DST change does not shift the time of day); fractional shifts move the
  instant.
- `add_months(fmt,N)`: N months later (earlier if negative); the day is clamped to the month's
  end (2026-03-31 minus one month is 2026-02-28, 2024-03-31 gives 2024-02-29).
- `this_day(fmt)`: the logical date; `last_day(fmt)`: the day before.
- `year_week(fmt)`: week-based year (written as `yyyy` or `yy` in `fmt`) and two-digit week,
  joined by the separator that follows the year in `fmt` (`yyyy-MM-dd` gives `2026-09`,
  `yyyyMMdd` gives `202609`). Weeks start on Monday and week 1 is the first with four days in
  the year (ISO 8601), so 2024-12-31 is `2025-01`; `year_week(fmt,N)` starts weeks on day N
  instead (1 = Monday ... 7 = Sunday). Unlike DolphinScheduler, which pairs the week with the
  calendar year, the year is the week's own year at year boundaries.
- `month_first_day(fmt,N)` / `month_last_day(fmt,N)`: first / last day of the month N months
  away (N = 0: this month, -1: last month). `week_first_day(fmt,N)` / `week_last_day(fmt,N)`:
  Monday / Sunday of the week N weeks away. N defaults to 0 for these four.
- N may be a product or quotient of whole numbers (`12*2`, `7*3`), as in DolphinScheduler.
- A `${param}` may stand for a number inside `$[...]`: `$[yyyyMMdd-${lag_days}]`.

Render a text once: rendering undoes escapes, so rendering its result again would expand the
`${HOME}` the user escaped.
"""

from __future__ import annotations

import calendar
import difflib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from shoal.errors import ParamError

# A task name may contain '-', a param or output key may not.
_REF_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\s*\}")
# One left-to-right pass over a text: an escape, a reference or a date expression. Scanning them
# together is what makes `$${x}` an escape rather than `$` followed by the reference `${x}`.
_SCAN_RE = re.compile(
    r"(?P<esc>\$\$(?=[{\[]))"
    r"|\$\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_-]*)(?:\.(?P<key>[A-Za-z_][A-Za-z0-9_]*))?\s*\}"
    r"|\$\[(?P<expr>[^\[\]]*)\]"
)

BUILTIN_NAMES = frozenset({
    "ds", "ds_nodash", "logical_date", "ts", "ts_nodash", "yesterday_ds", "tomorrow_ds",
    "run_id", "workflow", "project", "task", "attempt",
})
# Built-ins that exist only while rendering a task's fields, not the workflow's.
TASK_BUILTIN_NAMES = frozenset({"task", "attempt"})

# Validation context flag for a task's params: where the references of its code fields stand
# needs no check. They were checked when the workflow was applied (the engine validates each
# attempt's params again, with the code fields unchanged), or they were rendered as text
# (`splice_values: true`) and are gone.
REFERENCES_CHECKED = "references_checked"

_LAYER_NAMES = ("run-time params", "task params", "workflow params", "built-ins")
_BUILTIN_LAYER = 3


@dataclass(frozen=True)
class Reference:
    """One reference found in a text; `start` is its offset in that text."""

    kind: Literal["param", "output", "date"]
    text: str
    start: int
    name: str = ""  # param name, or the task name for an output
    key: str = ""  # output key (kind == "output")
    expr: str = ""  # date expression (kind == "date")


def find_references(text: str) -> list[Reference]:
    """Every `${...}` and `$[...]` reference in `text`, in order of appearance.

    Escaped ones (`$${x}`, `$$[fmt]`) are not references. A reference nested in a date
    expression (`$[yyyyMMdd-${lag}]`) is listed after the date expression that holds it.
    """
    refs: list[Reference] = []
    if "$" not in text:  # most texts: no scan at all (validating a 20,000-task file reads them all)
        return refs
    for m in _SCAN_RE.finditer(text):
        if m.group("esc"):
            continue
        if m.group("name"):
            if m.group("key"):
                refs.append(Reference("output", m.group(0), m.start(), name=m.group("name"),
                                      key=m.group("key")))
            else:
                refs.append(Reference("param", m.group(0), m.start(), name=m.group("name")))
            continue
        expr = m.group("expr")
        refs.append(Reference("date", m.group(0), m.start(), expr=expr.strip()))
        base = m.start("expr")
        for inner in find_references(expr):
            refs.append(replace(inner, start=base + inner.start))
    return refs


# --------------------------------------------------------------------------- built-ins


def build_builtins(
    logical_date: datetime,
    run_id: int | str,
    workflow: str,
    project: str,
    task: str | None = None,
    attempt: int | None = None,
) -> dict[str, str]:
    """The built-in params of a run (and of one task of it when `task` is given).

    Dates are those of `logical_date` in its own timezone (the schedule's), so a 00:30 run in
    Asia/Shanghai has the Shanghai date as `ds` even though it is still yesterday in UTC.
    `task` and `attempt` are left out when None, so `${task}` outside a task is an error.
    """
    day = logical_date.date()
    try:
        utc = logical_date.astimezone(UTC) if logical_date.tzinfo else logical_date
        yesterday, tomorrow = day - timedelta(days=1), day + timedelta(days=1)
    except OverflowError:
        raise ParamError(
            f"the logical date {logical_date.isoformat()} is out of range: its day before or after "
            f"is not a date", logical_date=logical_date.isoformat(),
        ) from None
    values = {
        "ds": day.isoformat(),
        "ds_nodash": day.isoformat().replace("-", ""),
        "logical_date": logical_date.isoformat(),
        "ts": utc.isoformat(),
        "ts_nodash": _format(utc, ("yyyy", "MM", "dd", "T", "HH", "mm", "ss")),
        "yesterday_ds": yesterday.isoformat(),
        "tomorrow_ds": tomorrow.isoformat(),
        "run_id": str(run_id),
        "workflow": workflow,
        "project": project,
    }
    if task is not None:
        values["task"] = task
    if attempt is not None:
        values["attempt"] = str(attempt)
    return values


# --------------------------------------------------------------------------- scope

_Key = tuple[str, int]  # (param name, layer index) — the same name may live in several layers


@dataclass(frozen=True, eq=False)
class Scope:
    """Everything a `${...}` or `$[...]` can refer to while rendering one task's fields.

    Params are layered: `run_params` win over `task_params`, which win over
    `workflow_params`, which win over `builtins`. `outputs` maps upstream task -> key -> value.
    Derive a task's scope from a run's with `dataclasses.replace(scope, task_params=...,
    builtins=..., outputs=...)`; resolved values are cached per Scope instance.
    """

    run_params: Mapping[str, str] = field(default_factory=dict)
    task_params: Mapping[str, str] = field(default_factory=dict)
    workflow_params: Mapping[str, str] = field(default_factory=dict)
    builtins: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    logical_date: datetime | None = None
    _cache: dict[_Key, str] = field(default_factory=dict, init=False, repr=False)

    def _layers(self) -> tuple[Mapping[str, str], ...]:
        return (self.run_params, self.task_params, self.workflow_params, self.builtins)

    def has_param(self, name: str) -> bool:
        """Whether `${name}` names a param in any layer."""
        return any(name in layer for layer in self._layers())

    def param(self, name: str) -> str:
        """The value of `${name}`, with the references inside it resolved."""
        return self._resolve(name, 0, ())

    def params(self, include_builtins: bool = True) -> dict[str, str]:
        """Every visible param, resolved (e.g. to hand a task its `ctx.params` or env)."""
        names: dict[str, None] = {}
        for layer in self._layers()[: None if include_builtins else _BUILTIN_LAYER]:
            names.update(dict.fromkeys(layer))
        return {name: self.param(name) for name in names}

    def output(self, task: str, key: str) -> Any:
        """The raw value of `${task.key}`."""
        produced = self.outputs.get(task)
        if produced is None:
            available = ", ".join(sorted(self.outputs)) or "none"
            raise ParamError(
                f"unknown output `${{{task}.{key}}}`: no outputs from task `{task}` are "
                f"visible here; a task can only read outputs of tasks upstream of it "
                f"(visible tasks: {available})",
                task=task, key=key,
            )
        if key not in produced:
            have = ", ".join(sorted(produced)) or "nothing"
            raise ParamError(
                f"unknown output `${{{task}.{key}}}`: task `{task}` did not produce `{key}`; "
                f"it produced: {have}",
                task=task, key=key, produced=sorted(produced),
            )
        return produced[key]

    def date(self, expr: str) -> str:
        """The value of `$[expr]`."""
        if self.logical_date is None:
            raise ParamError(
                f"`$[{expr}]` needs a logical date, and there is none here", expr=expr
            )
        return eval_date_expr(expr, self.logical_date)

    # -- resolution -------------------------------------------------------------------

    def _resolve(self, name: str, start: int, stack: tuple[_Key, ...]) -> str:
        layers = self._layers()
        layer = next((i for i in range(start, len(layers)) if name in layers[i]), None)
        if layer is None:
            if start > 0:
                # Only a self-reference starts below the top, so nothing below defines it.
                chain = " -> ".join([k[0] for k in stack] + [name])
                raise ParamError(
                    f"parameter cycle: {chain} (`{name}` refers to itself and no layer below "
                    f"the {_LAYER_NAMES[start - 1]} defines it)",
                    param=name, cycle=[k[0] for k in stack] + [name],
                )
            raise self._unknown_param(name, stack)
        key = (name, layer)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if key in stack:
            cycle = [k[0] for k in stack[stack.index(key):]] + [name]
            raise ParamError(
                f"parameter cycle: {' -> '.join(cycle)}; break it by giving one of them a "
                f"plain value", param=name, cycle=cycle,
            )
        raw = layers[layer][name]
        if layer == _BUILTIN_LAYER:
            value = raw
        else:
            try:
                value = self._render(raw, stack + (key,), owner=key)
            except RecursionError:
                raise ParamError(
                    f"parameter `{name}` nests references too deeply to resolve", param=name
                ) from None
        self._cache[key] = value
        return value

    def _unknown_param(self, name: str, stack: tuple[_Key, ...]) -> ParamError:
        where = f" (referenced by param `{stack[-1][0]}`)" if stack else ""
        known = sorted({n for layer in self._layers() for n in layer})
        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        if name in TASK_BUILTIN_NAMES:
            hint += f" The built-in `{name}` exists only inside a task."
        return ParamError(
            f"unknown parameter `${{{name}}}`{where}: define it under `params:` of the "
            f"workflow or of the task (a run-time `-p {name}=...` overrides those); "
            f"built-ins are {', '.join(sorted(BUILTIN_NAMES))}. To keep a literal `${{{name}}}` "
            f"(e.g. a shell variable), write `$${{{name}}}`.{hint}",
            param=name,
        )

    def _render(self, text: str, stack: tuple[_Key, ...], owner: _Key | None) -> str:
        if "$" not in text:
            return text

        def substitute(m: re.Match[str]) -> str:
            if m.group("esc"):
                return "$"
            name = m.group("name")
            if name:
                key = m.group("key")
                if key:
                    return output_text(self.output(name, key))
                if owner is not None and name == owner[0]:
                    return self._resolve(name, owner[1] + 1, stack)
                return self._resolve(name, 0, stack)
            expr = m.group("expr")
            if "$" in expr:
                expr = self._render(expr, stack, owner)
            return self.date(expr)

        return _SCAN_RE.sub(substitute, text)


_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d+")


def coerce(value: Any) -> Any:
    """A value where code expects a typed one (a condition, a SQL parameter, a Python literal):
    text that reads as an int or float becomes that number, `true`/`false` (any case) a bool."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INT_RE.fullmatch(text):
        return int(text)
    if _NUMBER_RE.fullmatch(text):
        return float(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return value


def output_text(value: Any) -> str:
    """How an output value appears inside a rendered text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def render(text: str, scope: Scope) -> str:
    """`text` with every `${name}`, `${task.key}` and `$[expr]` replaced and escapes undone."""
    return scope._render(text, (), None)


def render_value(obj: Any, scope: Scope, *, _nested: bool = False) -> Any:
    """Render every string inside dicts, lists and tuples; keys and other scalars are kept.

    Inside a dict or list (python `kwargs`, an http `body`), a string that is exactly one output
    reference such as `"${train.auc}"` becomes the output's value with its type (0.83, not
    "0.83"), so values pass between tasks as what they are.
    """
    if isinstance(obj, str):
        if _nested and (m := _REF_RE.fullmatch(obj)) and m.group(2):
            return scope.output(m.group(1), m.group(2))
        return scope._render(obj, (), None)
    if isinstance(obj, dict):
        return {k: render_value(v, scope, _nested=True) for k, v in obj.items()}
    if isinstance(obj, list):
        return [render_value(v, scope, _nested=True) for v in obj]
    if isinstance(obj, tuple):
        return tuple(render_value(v, scope, _nested=True) for v in obj)
    return obj


def reference_value(m: re.Match[str], scope: Scope) -> Any:
    """The value of one scanner match (not an escape): a param's resolved text, an output's raw
    value (typed), or a date expression's text."""
    name = m.group("name")
    if name:
        key = m.group("key")
        return scope.output(name, key) if key else scope._resolve(name, 0, ())
    expr = m.group("expr")
    if "$" in expr:
        expr = scope._render(expr, (), None)
    return scope.date(expr)


def resolve_references(obj: Any, scope: Scope) -> dict[str, Any]:
    """Every reference in the strings of `obj` (dicts and lists walked) -> its value, keyed by
    the reference as written (`${x}`, `${fetch.v}`, `$[yyyyMMdd-1]`).

    For fields whose text is code (a shell command, SQL, a script, a URL): the text stays as
    written and the task type passes these values to it as data (variables, bound parameters,
    encoded text), never as code. Raises ParamError like `render` for a reference it cannot
    resolve.
    """
    values: dict[str, Any] = {}
    for text in _texts(obj):
        if "$" not in text:
            continue
        for m in _SCAN_RE.finditer(text):
            if m.group("esc") or m.group(0) in values:
                continue
            values[m.group(0)] = reference_value(m, scope)
    return values


def substitute(text: str, replace: Callable[[re.Match[str]], str]) -> str:
    """`text` with each reference replaced by `replace(match)` and escapes undone (`$${` ->
    `${`): how a task type splices its values into a code field in a form that stays data."""
    if "$" not in text:
        return text
    return _SCAN_RE.sub(lambda m: "$" if m.group("esc") else replace(m), text)


def mark_references(text: str, mark: Callable[[int], str]) -> tuple[str, list[str]]:
    """`text` with the i-th reference replaced by `mark(i)` and escapes undone, and the
    references as written, in order: how a task type reads its code with the values set aside."""
    refs: list[str] = []

    def replace(m: re.Match[str]) -> str:
        refs.append(m.group(0))
        return mark(len(refs) - 1)

    return substitute(text, replace), refs


def _texts(obj: Any) -> Iterator[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _texts(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _texts(v)


def unescape(text: str) -> str:
    """`text` with its escapes undone (`$${` -> `${`, `$$[` -> `$[`) and references left as written.

    For a text with no references this is what rendering gives, so a task type can check a field
    as it will run (a JSONPath written `$$['data']` runs as `$['data']`) before anything renders it.
    """
    if "$$" not in text:
        return text
    return _SCAN_RE.sub(lambda m: "$" if m.group("esc") else m.group(0), text)


def scan_references(text: str) -> list[re.Match[str]]:
    """The raw scanner matches in `text` (escapes included, `group("esc")` set)."""
    return list(_SCAN_RE.finditer(text))


# --------------------------------------------------------------------------- dates

_TOKENS = ("yyyy", "yy", "MM", "dd", "HH", "mm", "ss")
_SEPARATORS = "-/_.: "
_NUM = r"\d+(?:\s*[*/]\s*\d+)*"
# The pattern part never holds a digit, so `yyyy-MM-dd-1` splits unambiguously at the last sign.
_SHIFT_RE = re.compile(
    rf"^\s*(?P<fmt>[A-Za-z{re.escape(_SEPARATORS)}]+?)\s*(?:(?P<sign>[+-])\s*(?P<num>{_NUM}))?\s*$"
)
_FUNC_RE = re.compile(
    rf"^\s*(?P<fn>[A-Za-z_]\w*)\s*\(\s*(?P<fmt>[A-Za-z{re.escape(_SEPARATORS)}]+?)\s*"
    rf"(?:,\s*(?P<sign>[+-]?)\s*(?P<num>{_NUM})\s*)?\)\s*$"
)
_PATTERN_PART_RE = re.compile(r"([A-Za-z])\1*|[^A-Za-z]+")
_NUM_PART_RE = re.compile(r"[*/]|\d+")

# function -> whether its N is required; N is months, weeks or a weekday as documented above.
_FUNCTIONS: dict[str, bool] = {
    "add_months": True,
    "this_day": False,
    "last_day": False,
    "year_week": False,
    "month_first_day": False,
    "month_last_day": False,
    "week_first_day": False,
    "week_last_day": False,
}
_NO_ARG_FUNCTIONS = frozenset({"this_day", "last_day"})

SUPPORTED_DATE_FORMS = (
    "$[yyyyMMdd], $[yyyy-MM-dd HH:mm:ss] (pattern letters yyyy yy MM dd HH mm ss, separators "
    "- / _ . : space); $[yyyyMMdd+N], $[yyyyMMdd-N] (days), $[yyyyMMddHHmmss-N/24] (hours), "
    "$[yyyyMMddHHmmss-N/24/60] (minutes); $[add_months(yyyyMMdd,N)], $[this_day(yyyy-MM-dd)], "
    "$[last_day(yyyy-MM-dd)], $[year_week(yyyy-MM-dd)], $[year_week(yyyy-MM-dd,N)], "
    "$[month_first_day(yyyy-MM-dd,N)], $[month_last_day(yyyy-MM-dd,N)], "
    "$[week_first_day(yyyy-MM-dd,N)], $[week_last_day(yyyy-MM-dd,N)]"
)


@dataclass(frozen=True)
class _DateExpr:
    fn: str | None  # None: a plain pattern with an optional day shift
    pattern: tuple[str, ...]  # tokens and literal separators, in order
    offset: Fraction  # days for a shift; months, weeks or weekday for functions

    def evaluate(self, when: datetime) -> str:
        if self.fn is None:
            return _format(_shift(when, self.offset), self.pattern)
        n = int(self.offset)
        if self.fn == "add_months":
            return _format(_add_months(when, n), self.pattern)
        if self.fn == "this_day":
            return _format(when, self.pattern)
        if self.fn == "last_day":
            return _format(_shift(when, Fraction(-1)), self.pattern)
        if self.fn == "month_first_day":
            return _format(_add_months(when, n).replace(day=1), self.pattern)
        if self.fn == "month_last_day":
            moved = _add_months(when, n)
            return _format(moved.replace(day=_days_in_month(moved.year, moved.month)), self.pattern)
        if self.fn == "week_first_day":
            return _format(_shift(when, Fraction(7 * n - when.weekday())), self.pattern)
        if self.fn == "week_last_day":
            return _format(_shift(when, Fraction(7 * n + 6 - when.weekday())), self.pattern)
        assert self.fn == "year_week"
        year, week = _year_week(when.date(), first_weekday=(n or 1) - 1)
        return _format_year_week(year, week, self.pattern)


def check_date_expr(expr: str) -> None:
    """Raise ParamError if `expr` (the text inside `$[...]`) is not a valid date expression.

    For validation without a logical date. A `${...}` inside stands for a number, so
    `yyyyMMdd-${lag}` is valid and `${fmt}` is not.
    """
    _parse_date_expr(_REF_RE.sub("1", expr), shown=expr)


def eval_date_expr(expr: str, logical_date: datetime) -> str:
    """The value of `$[expr]` for `logical_date` (formatted in that datetime's own timezone)."""
    parsed = _parse_date_expr(expr)
    try:
        return parsed.evaluate(logical_date)
    except (OverflowError, ValueError) as exc:
        raise ParamError(
            f"date expression `$[{expr.strip()}]` is out of range for {logical_date.isoformat()}: "
            f"{exc}", expr=expr,
        ) from None


def _invalid(expr: str, why: str) -> ParamError:
    return ParamError(
        f"invalid date expression `$[{expr.strip()}]`: {why}. Supported forms: "
        f"{SUPPORTED_DATE_FORMS}", expr=expr,
    )


@lru_cache(maxsize=1024)
def _parse_date_expr(expr: str, shown: str | None = None) -> _DateExpr:
    """Parse `expr`; errors name `shown` (the text as written) when given."""
    said = expr if shown is None else shown
    m = _FUNC_RE.match(expr)
    if m:
        fn = m.group("fn")
        if fn not in _FUNCTIONS:
            raise _invalid(said, f"unknown function `{fn}`")
        num = m.group("num")
        if num is None and _FUNCTIONS[fn]:
            raise _invalid(said, f"`{fn}` needs a number as its second argument")
        if num is not None and fn in _NO_ARG_FUNCTIONS:
            raise _invalid(said, f"`{fn}` takes only a pattern")
        offset = _number(said, m.group("sign"), num) if num is not None else Fraction(0)
        if offset.denominator != 1:
            raise _invalid(said, f"the argument of `{fn}` must be a whole number")
        if fn == "year_week" and num is not None and not 1 <= offset <= 7:
            raise _invalid(said, "the week's first day in `year_week` is 1 (Monday) to 7 (Sunday)")
        return _DateExpr(fn, _parse_pattern(said, m.group("fmt")), offset)
    m = _SHIFT_RE.match(expr)
    if not m:
        literal = f"$$[{said.strip()}]"
        raise _invalid(
            said, f"cannot parse it (if it is not a date but a literal `$[`, as in the JSONPath "
            f"`$['data']`, escape it: `{literal}`)",
        )
    offset = _number(said, m.group("sign"), m.group("num")) if m.group("num") else Fraction(0)
    return _DateExpr(None, _parse_pattern(said, m.group("fmt")), offset)


def _parse_pattern(expr: str, fmt: str) -> tuple[str, ...]:
    parts = tuple(p.group(0) for p in _PATTERN_PART_RE.finditer(fmt))
    bad = [p for p in parts if p[0].isalpha() and p not in _TOKENS]
    if bad:
        raise _invalid(expr, f"unknown pattern letters {', '.join(f'`{b}`' for b in bad)} "
                             f"(use {' '.join(_TOKENS)})")
    if not any(p in _TOKENS for p in parts):
        raise _invalid(expr, "the pattern has no date or time letters")
    return parts


def _number(expr: str, sign: str, num: str) -> Fraction:
    # DolphinScheduler's arithmetic: `7*2` is two weeks of days, `1/24` an hour, `1/24/60` a minute.
    value: Fraction | None = None
    op = ""
    for part in _NUM_PART_RE.findall(num):
        if part in "*/":
            op = part
            continue
        n = Fraction(int(part))
        if value is None:
            value = n
        elif op == "*":
            value *= n
        elif n == 0:
            raise _invalid(expr, "division by zero")
        else:
            value /= n
    assert value is not None
    return -value if sign == "-" else value


def _shift(when: datetime, days: Fraction) -> datetime:
    if days.denominator == 1:
        # Whole days move the calendar date and keep the wall-clock time, across DST changes too.
        return when + timedelta(days=int(days))
    # Hours and minutes are elapsed time: shift the instant, then view it in the same zone.
    delta = timedelta(seconds=int(days * 86400))
    if when.tzinfo is None:
        return when + delta
    return (when.astimezone(UTC) + delta).astimezone(when.tzinfo)


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(when: datetime, months: int) -> datetime:
    index = when.year * 12 + (when.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return when.replace(year=year, month=month, day=min(when.day, _days_in_month(year, month)))


def _year_week(day: date, first_weekday: int) -> tuple[int, int]:
    """Week-based (year, week): weeks start on `first_weekday` (0 = Monday), week 1 has 4+ days."""
    start = day - timedelta(days=(day.weekday() - first_weekday) % 7)
    year = (start + timedelta(days=3)).year
    jan4 = date(year, 1, 4)
    week1 = jan4 - timedelta(days=(jan4.weekday() - first_weekday) % 7)
    return year, (start - week1).days // 7 + 1


def _format_year_week(year: int, week: int, pattern: tuple[str, ...]) -> str:
    # The pattern only says how to write the year and what separates it from the week.
    for i, part in enumerate(pattern):
        if part in ("yyyy", "yy"):
            nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
            sep = nxt if nxt and not nxt[0].isalpha() else ""
            shown = f"{year:04d}" if part == "yyyy" else f"{year % 100:02d}"
            return f"{shown}{sep}{week:02d}"
    return f"{year:04d}{week:02d}"


def _format(when: datetime, pattern: tuple[str, ...]) -> str:
    out = []
    for part in pattern:
        if part == "yyyy":
            out.append(f"{when.year:04d}")
        elif part == "yy":
            out.append(f"{when.year % 100:02d}")
        elif part == "MM":
            out.append(f"{when.month:02d}")
        elif part == "dd":
            out.append(f"{when.day:02d}")
        elif part == "HH":
            out.append(f"{when.hour:02d}")
        elif part == "mm":
            out.append(f"{when.minute:02d}")
        elif part == "ss":
            out.append(f"{when.second:02d}")
        else:
            out.append(part)
    return "".join(out)

