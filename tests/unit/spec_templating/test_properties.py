from __future__ import annotations

import graphlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shoal.errors import ParamError
from shoal.spec.templating import Scope, build_builtins, eval_date_expr, find_references, render

ZONES = [ZoneInfo(z) for z in ("UTC", "Asia/Shanghai", "America/New_York", "Pacific/Chatham")]

dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
logical_dates = st.builds(
    lambda d, t, z: datetime.combine(d, t, tzinfo=z),
    dates, st.times(), st.sampled_from(ZONES),
)


def has_escape(text: str) -> bool:
    return "$${" in text or "$$[" in text


@given(st.text())
def test_text_without_references_is_unchanged(text: str) -> None:
    if find_references(text) or has_escape(text):
        return
    assert render(text, Scope()) == text


@given(logical_dates, st.integers(min_value=-20000, max_value=20000))
def test_day_shift_matches_date_arithmetic(when: datetime, n: int) -> None:
    expr = f"yyyy-MM-dd{'+' if n >= 0 else '-'}{abs(n)}"
    assert eval_date_expr(expr, when) == (when.date() + timedelta(days=n)).isoformat()


@given(logical_dates, st.integers(min_value=-600, max_value=600))
def test_add_months_and_back_never_lands_later(when: datetime, months: int) -> None:
    there = date.fromisoformat(eval_date_expr(f"add_months(yyyy-MM-dd,{months})", when))
    there_dt = datetime.combine(there, when.timetz())
    back = date.fromisoformat(eval_date_expr(f"add_months(yyyy-MM-dd,{-months})", there_dt))
    assert back <= when.date()
    assert (back.year, back.month) == (when.year, when.month)  # clamping only moves the day


# Text pieces: literal chunks without `$`, and references whose values contain no `$`.
_PIECES = st.one_of(
    st.text(alphabet=st.characters(blacklist_characters="$"), max_size=8),
    st.sampled_from([
        "${a}", "${b}", "${ds}", "${ run_id }", "${up.n}", "${up.j}", "${up.s}",
        "$[yyyyMMdd-1]", "$[add_months(yyyy-MM-dd,-1)]", "$[year_week(yyyy-MM-dd)]",
        "${HOME:-x}", "$$", "$1",
    ]),
)


@given(st.lists(_PIECES, max_size=12), logical_dates,
       st.text(alphabet=st.characters(blacklist_characters="$"), max_size=8))
def test_render_is_idempotent_without_dollars_in_values(
    pieces: list[str], when: datetime, value: str
) -> None:
    scope = Scope(
        workflow_params={"a": value, "b": "${a}/${ds}"},
        builtins=build_builtins(when, 1, "wf", "p"),
        outputs={"up": {"n": 3, "j": {"k": [value]}, "s": value}},
        logical_date=when,
    )
    text = "".join(pieces)
    if has_escape(text):  # `$$` next to `${a}`: escapes are undone by design, not idempotent
        return
    once = render(text, scope)
    assert render(once, scope) == once


@st.composite
def param_graphs(draw: st.DrawFn, acyclic: bool) -> dict[int, list[int]]:
    n = draw(st.integers(min_value=1, max_value=7))
    deps: dict[int, list[int]] = {}
    for i in range(n):
        targets = range(i + 1, n) if acyclic else range(n)
        if not targets:
            deps[i] = []
            continue
        deps[i] = draw(st.lists(st.sampled_from(targets), max_size=3, unique=True))
    return deps


def _scope_for(deps: dict[int, list[int]], layers: list[int]) -> Scope:
    run: dict[str, str] = {}
    task: dict[str, str] = {}
    workflow: dict[str, str] = {}
    for i, targets in deps.items():
        value = f"v{i}[" + "".join(f"${{p{j}}}" for j in targets) + "]"
        (run, task, workflow)[layers[i % len(layers)]][f"p{i}"] = value
    return Scope(run_params=run, task_params=task, workflow_params=workflow)


def _expand(deps: dict[int, list[int]], i: int) -> str:
    return f"v{i}[" + "".join(_expand(deps, j) for j in deps[i]) + "]"


@settings(max_examples=150)
@given(param_graphs(acyclic=True), st.lists(st.integers(0, 2), min_size=1, max_size=7))
def test_acyclic_params_always_resolve(deps: dict[int, list[int]], layers: list[int]) -> None:
    scope = _scope_for(deps, layers)
    text = " ".join(f"${{p{i}}}" for i in deps)
    assert render(text, scope) == " ".join(_expand(deps, i) for i in deps)


@settings(max_examples=150)
@given(param_graphs(acyclic=False), st.lists(st.integers(0, 2), min_size=1, max_size=7))
def test_cyclic_params_always_raise(deps: dict[int, list[int]], layers: list[int]) -> None:
    scope = _scope_for(deps, layers)
    text = " ".join(f"${{p{i}}}" for i in deps)
    try:
        graphlib.TopologicalSorter({i: set(t) for i, t in deps.items()}).prepare()
    except graphlib.CycleError:
        with pytest.raises(ParamError, match="parameter cycle"):
            render(text, scope)
    else:
        assert render(text, scope) == " ".join(_expand(deps, i) for i in deps)


def test_the_times_strategy_is_usable() -> None:
    # Guards the strategies above: a time on a DST gap day still formats.
    assert eval_date_expr("yyyy-MM-dd", datetime.combine(date(2026, 3, 8), time(2, 30),
                                                        tzinfo=ZONES[2])) == "2026-03-08"
