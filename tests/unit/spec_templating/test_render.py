from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from shoal.errors import ParamError
from shoal.spec.templating import (
    BUILTIN_NAMES,
    Reference,
    Scope,
    build_builtins,
    find_references,
    render,
    render_value,
    unescape,
)

from .conftest import MakeScope

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_builtins_use_the_schedules_timezone() -> None:
    when = datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)
    assert build_builtins(when, 42, "etl", "ads", task="train", attempt=2) == {
        "ds": "2026-03-01",
        "ds_nodash": "20260301",
        "logical_date": "2026-03-01T00:30:00+08:00",
        "ts": "2026-02-28T16:30:00+00:00",
        "ts_nodash": "20260228T163000",
        "yesterday_ds": "2026-02-28",
        "tomorrow_ds": "2026-03-02",
        "run_id": "42",
        "workflow": "etl",
        "project": "ads",
        "task": "train",
        "attempt": "2",
    }


def test_builtins_cross_month_and_leap_day() -> None:
    b = build_builtins(datetime(2024, 2, 29, tzinfo=UTC), "r-1", "etl", "ads")
    assert [b["yesterday_ds"], b["ds"], b["tomorrow_ds"]] == [
        "2024-02-28", "2024-02-29", "2024-03-01",
    ]
    assert b["run_id"] == "r-1"


def test_task_builtins_only_inside_a_task() -> None:
    b = build_builtins(datetime(2026, 3, 1, tzinfo=UTC), 1, "etl", "ads")
    assert "task" not in b and "attempt" not in b
    assert set(b) | {"task", "attempt"} == BUILTIN_NAMES
    with pytest.raises(ParamError, match="only inside a task"):
        render("${task}", Scope(builtins=b))


def test_params_and_builtins(make_scope: MakeScope) -> None:
    scope = make_scope(workflow={"out": "/data/${ds}", "table": "clicks"})
    assert render("hive -e 'select * from ${table}' > ${out}/x", scope) == (
        "hive -e 'select * from clicks' > /data/2026-03-01/x"
    )
    assert render("${ ds_nodash }-${run_id}-${workflow}-${project}-${task}-${attempt}", scope) == (
        "20260301-42-etl-ads-train-1"
    )


def test_layers_run_over_task_over_workflow_over_builtins(make_scope: MakeScope) -> None:
    scope = make_scope(
        run={"a": "run"},
        task={"a": "task", "b": "task"},
        workflow={"a": "wf", "b": "wf", "c": "wf", "ds": "wf-ds"},
    )
    assert render("${a} ${b} ${c} ${ds} ${ds_nodash}", scope) == "run task wf wf-ds 20260301"


def test_values_resolve_recursively_through_layers(make_scope: MakeScope) -> None:
    scope = make_scope(
        run={"day": "$[yyyy-MM-dd-1]"},
        task={"path": "${root}/${day}"},
        workflow={"root": "/data/${project}", "day": "${ds}"},
    )
    assert render("${path}", scope) == "/data/ads/2026-02-28"
    assert scope.param("path") == "/data/ads/2026-02-28"


def test_a_value_naming_itself_extends_the_layer_below(make_scope: MakeScope) -> None:
    scope = make_scope(run={"out": "${out}/retry"}, task={"out": "${out}/train"},
                       workflow={"out": "/data/${ds}"})
    assert render("${out}", scope) == "/data/2026-03-01/train/retry"


def test_self_reference_with_nothing_below_is_a_cycle(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError, match="parameter cycle: x -> x"):
        render("${x}", make_scope(workflow={"x": "a${x}"}))


@pytest.mark.parametrize(
    ("params", "cycle"),
    [
        ({"a": "${b}", "b": "${a}"}, "a -> b -> a"),
        ({"a": "1${b}", "b": "2${c}", "c": "3${a}"}, "a -> b -> c -> a"),
        ({"a": "${b}", "b": "${c}", "c": "${b}"}, "b -> c -> b"),
    ],
)
def test_cycles_are_named(make_scope: MakeScope, params: dict[str, str], cycle: str) -> None:
    with pytest.raises(ParamError) as info:
        render("x ${a}", make_scope(workflow=params))
    assert f"parameter cycle: {cycle}" in str(info.value)


def test_cycle_across_layers_is_found(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError, match="parameter cycle: a -> b -> a"):
        render("${a}", make_scope(task={"b": "${a}"}, workflow={"a": "${b}"}))


def test_unknown_param_says_where_to_define_it(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError) as info:
        render("echo ${treshold}", make_scope(workflow={"threshold": "3"}))
    message = str(info.value)
    assert "`${treshold}`" in message
    assert "params:" in message and "-p treshold=" in message
    assert "Did you mean `threshold`?" in message
    assert "$${treshold}" in message  # and how to keep it literal
    assert info.value.details["param"] == "treshold"


def test_unknown_param_inside_a_param_names_the_referrer(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError, match="referenced by param `out`"):
        render("${out}", make_scope(workflow={"out": "/data/${bucket}"}))


def test_outputs(make_scope: MakeScope) -> None:
    scope = make_scope(outputs={
        "extract": {"rows": 12, "auc": 0.75, "path": "/tmp/x", "ok": True,
                    "meta": {"a": [1, 2]}, "files": ["a", "b"], "cmd": "echo ${HOME} $[x]"},
        "clean-up": {"n": "3"},
    })
    text = "${extract.rows} ${extract.auc} ${extract.path} ${extract.ok} ${clean-up.n}"
    assert render(text, scope) == "12 0.75 /tmp/x True 3"
    assert render("${extract.meta}|${extract.files}", scope) == '{"a": [1, 2]}|["a", "b"]'
    # Outputs are data: a `$` in one is not rendered again.
    assert render("${extract.cmd}", scope) == "echo ${HOME} $[x]"


def test_unknown_output_key_lists_what_the_task_produced(make_scope: MakeScope) -> None:
    scope = make_scope(outputs={"extract": {"rows": 1, "path": "p"}, "load": {}})
    with pytest.raises(ParamError) as info:
        render("${extract.row}", scope)
    assert "task `extract` did not produce `row`; it produced: path, rows" in str(info.value)
    assert info.value.details == {"task": "extract", "key": "row", "produced": ["path", "rows"]}
    with pytest.raises(ParamError, match="it produced: nothing"):
        render("${load.x}", scope)


def test_output_of_a_task_that_is_not_upstream(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError) as info:
        render("${train.model}", make_scope(outputs={"extract": {"rows": 1}}))
    assert "`${train.model}`" in str(info.value) and "upstream" in str(info.value)
    assert "extract" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("echo $${HOME}", "echo ${HOME}"),
        ("$${ds} is ${ds}", "${ds} is 2026-03-01"),
        ("date +%F # $$[yyyyMMdd]", "date +%F # $[yyyyMMdd]"),
        ("kill $$; echo $1 $HOME $", "kill $$; echo $1 $HOME $"),
        ("$$${ds}", "$${ds}"),
        ("echo ${HOME:-/root} ${#arr[@]} ${arr[0]}", "echo ${HOME:-/root} ${#arr[@]} ${arr[0]}"),
        ("$${", "${"),
        ("no references at all", "no references at all"),
    ],
)
def test_escapes_and_shell_syntax(make_scope: MakeScope, text: str, expected: str) -> None:
    assert render(text, make_scope()) == expected


def test_escape_inside_a_param_value_survives_one_render(make_scope: MakeScope) -> None:
    scope = make_scope(workflow={"cmd": "echo $${HOME} ${ds}"})
    assert render("${cmd}", scope) == "echo ${HOME} 2026-03-01"


def test_date_expressions_in_text(make_scope: MakeScope) -> None:
    scope = make_scope(workflow={"lag": "7"})
    assert render("dt=$[yyyyMMdd-1] week=$[yyyyMMdd-${lag}]", scope) == "dt=20260228 week=20260222"


def test_date_expression_without_logical_date() -> None:
    with pytest.raises(ParamError, match="needs a logical date"):
        render("$[yyyyMMdd]", Scope())


def test_bad_date_expression_in_text(make_scope: MakeScope) -> None:
    with pytest.raises(ParamError, match=r"invalid date expression `\$\[yyyyMMDD\]`"):
        render("dt=$[yyyyMMDD]", make_scope())


def test_render_value_walks_containers(make_scope: MakeScope) -> None:
    scope = make_scope(workflow={"out": "/data/${ds}"})
    value = {
        "${out}": ["${out}/a", 3, None, ("$[yyyyMMdd]", 1.5)],
        "nested": {"flag": True, "cmd": "ls ${out}"},
    }
    assert render_value(value, scope) == {
        "${out}": ["/data/2026-03-01/a", 3, None, ("20260301", 1.5)],
        "nested": {"flag": True, "cmd": "ls /data/2026-03-01"},
    }
    assert render_value(7, scope) == 7


def test_resolved_params(make_scope: MakeScope) -> None:
    scope = make_scope(task={"b": "${a}!"}, workflow={"a": "$[yyyyMMdd]"})
    assert scope.params(include_builtins=False) == {"b": "20260301!", "a": "20260301"}
    assert scope.params()["ds"] == "2026-03-01"
    assert scope.has_param("b") and scope.has_param("ds") and not scope.has_param("zz")


def test_replace_gives_a_fresh_cache(make_scope: MakeScope) -> None:
    scope = make_scope(workflow={"out": "/data/${name}", "name": "a"})
    assert render("${out}", scope) == "/data/a"
    other = replace(scope, task_params={"name": "b"})
    assert render("${out}", other) == "/data/b"
    assert render("${out}", scope) == "/data/a"


def test_find_references_skips_escapes_and_sees_nested() -> None:
    text = "$${x} ${y} $[yyyyMMdd-${lag}] $$[z] ${t.k}"
    assert find_references(text) == [
        Reference("param", "${y}", 6, name="y"),
        Reference("date", "$[yyyyMMdd-${lag}]", 11, expr="yyyyMMdd-${lag}"),
        Reference("param", "${lag}", 22, name="lag"),
        Reference("output", "${t.k}", 36, name="t", key="k"),
    ]



@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$$['data']['auc']", "$['data']['auc']"),
        ("echo $${HOME} $$ $1 ${USER:-x}", "echo ${HOME} $$ $1 ${USER:-x}"),
        ("no dollars", "no dollars"),
        ("${ds} $$[fmt]", "${ds} $[fmt]"),  # references are left as written
    ],
)
def test_unescape_undoes_escapes_as_rendering_does(make_scope: MakeScope, text: str, expected: str) -> None:
    assert unescape(text) == expected
    if not find_references(text):
        assert render(text, make_scope()) == expected
