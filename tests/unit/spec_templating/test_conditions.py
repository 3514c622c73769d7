from __future__ import annotations

from typing import Any

import pytest

from shoal.errors import ParamError
from shoal.spec.expressions import FUNCTIONS, check_condition, coerce, evaluate_condition
from shoal.spec.templating import Scope

from .conftest import MakeScope


@pytest.fixture
def scope(make_scope: MakeScope) -> Scope:
    return make_scope(
        workflow={"threshold": "10", "region": "cn", "dry_run": "false", "name": "o'neil",
                  "limit": "${threshold}"},
        outputs={
            "extract": {"rows": "12", "empty": "0"},
            "evaluate": {"auc": 0.81, "passed": True},
            "train": {"model": "xgb", "models": ["xgb", "lgb"]},
        },
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${extract.rows} > ${threshold}", True),  # numbers, not strings: "12" < "10" is false
        ("${extract.rows} > ${threshold} * 2", False),
        ("${extract.rows} > ${limit}", True),  # a param naming a param
        ("${region} == 'cn' and ${evaluate.auc} >= 0.75", True),
        ("${region} == 'us' or ${evaluate.auc} < 0.75", False),
        ("${train.model} in ('xgb','lgb')", True),
        ("${train.model} not in ['lr']", True),
        ("'lgb' in ${train.models}", True),
        ("not ${dry_run}", True),
    ],
)
def test_conditions(scope: Scope, expr: str, expected: bool) -> None:
    assert evaluate_condition(expr, scope) is expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("${dry_run} == False", True),
        ("${evaluate.passed} and 0 < ${extract.empty} + 1 <= 1", True),
        ("len(${train.models}) == 2 and max(1, ${extract.rows}) == 12", True),
        ("abs(-${extract.rows}) == int('12') and min(${evaluate.auc}, 1) > 0.8", True),
        ("str(${extract.rows}) == '12' and float(${threshold}) == 10.0", True),
        ("${extract.rows} % 5 == 2 and ${extract.rows} // 5 == 2 and ${extract.rows} / 8 == 1.5",
         True),
        ("'${region}' == 'cn'", True),  # inside quotes a reference is pasted as text
        ("\"${name}\" == \"o'neil\" and '${name}' == \"o'neil\"", True),
        ("${extract.rows}", True),  # not a bool: truthiness
        ("${extract.empty}", False),
        ("'$${x}' == '${' + 'x}'", True),  # escapes work as in render
        ("$[yyyyMMdd] == 20260301 and '$[yyyy-MM-dd]' == '${ds}'", True),
        ("${extract.rows} >\n  ${threshold}", True),  # YAML block scalars span lines
    ],
)
def test_more_conditions(scope: Scope, expr: str, expected: bool) -> None:
    assert evaluate_condition(expr, scope) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12), (" -3 ", -3), ("0.75", 0.75), ("1e3", 1000.0), (".5", 0.5),
        ("true", True), ("False", False), ("TRUE", True),
        ("cn", "cn"), ("nan", "nan"), ("inf", "inf"), ("1_000", "1_000"), ("", ""),
        (7, 7), ([1], [1]), (None, None),
    ],
)
def test_coerce(value: Any, expected: Any) -> None:
    result = coerce(value)
    assert result == expected and type(result) is type(expected)


def test_bare_words_are_unknown_names(scope: Scope) -> None:
    with pytest.raises(ParamError) as info:
        evaluate_condition("${region} == cn", scope)
    assert "unknown name `cn`" in str(info.value) and "'cn'" in str(info.value)
    assert "`${region} == cn`" in str(info.value)


@pytest.mark.parametrize(
    ("expr", "shown"),
    [
        ("${region}.upper() == 'CN'", "`${region}.upper`"),
        ("2 ** 100 > ${threshold}", "`2 ** 100`"),
        ("${train.models}[0] == 'xgb'", "`${train.models}[0]`"),
        ("${region} is None", "`${region} is None`"),
        ("[m for m in ${train.models}]", "`[m for m in ${train.models}]`"),
        ("(lambda: 1)()", "lambda"),
        ("${threshold} if 1 else 2", "if"),
        ("{'a': 1}", "{'a': 1}"),
        ("1 | 2", "`1 | 2`"),
        ("open('/etc/passwd')", "unsupported call `open('/etc/passwd')`"),
        ("__import__('os')", "unsupported call"),
        ("len(${train.models}, x=1)", "`x=1`"),
        ("list(${train.models})", "unsupported call"),
    ],
)
def test_unsupported_constructs(scope: Scope, expr: str, shown: str) -> None:
    with pytest.raises(ParamError) as info:
        evaluate_condition(expr, scope)
    assert shown in str(info.value)
    assert f"`{expr}`" in str(info.value)


@pytest.mark.parametrize("expr", ["${threshold} >", "", "   ", "a = 1", "1; 2", "(1"])
def test_syntax_errors_name_the_condition(scope: Scope, expr: str) -> None:
    with pytest.raises(ParamError) as info:
        evaluate_condition(expr, scope)
    assert "condition" in str(info.value)


def test_type_errors_show_the_values(scope: Scope) -> None:
    with pytest.raises(ParamError) as info:
        evaluate_condition("${region} > ${threshold}", scope)
    message = str(info.value)
    assert "`${region} > ${threshold}`" in message
    assert "${region} = 'cn'" in message and "${threshold} = 10" in message


def test_division_by_zero(scope: Scope) -> None:
    with pytest.raises(ParamError, match="cannot evaluate condition"):
        evaluate_condition("${extract.rows} / ${extract.empty} > 1", scope)


def test_unknown_references(scope: Scope) -> None:
    with pytest.raises(ParamError, match=r"in condition `\$\{treshold\} > 1`: unknown parameter"):
        evaluate_condition("${treshold} > 1", scope)
    with pytest.raises(ParamError, match="did not produce `auc_`"):
        evaluate_condition("${evaluate.auc_} > 1", scope)


def test_functions_are_not_widened_by_evaluation(scope: Scope) -> None:
    evaluate_condition("len(${train.models}) > 0", scope)
    assert sorted(FUNCTIONS) == ["abs", "float", "int", "len", "max", "min", "str"]


def test_check_condition_needs_no_values() -> None:
    check_condition("${extract.rows} > ${threshold}")
    check_condition("${region} == 'cn' and ${evaluate.auc} >= 0.75", {"region"})
    check_condition("${train.model} in ('xgb','lgb') and $[yyyyMMdd-1] > ${ds_nodash}", set())
    check_condition("'${region}' == 'cn'", {"region"})


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("${rows} >", "invalid condition"),
        ("${region} == cn", "unknown name `cn`"),
        ("${a}.b", "is not supported"),
        ("$[yyyyMMDD] > 1", "invalid date expression"),
        ("${nope} > 1", "unknown parameter `${nope}`"),
        ("$[yyyyMMdd-${nope}] > 1", "unknown parameter `${nope}`"),
    ],
)
def test_check_condition_rejects(expr: str, message: str) -> None:
    with pytest.raises(ParamError, match=message.replace("$", r"\$").replace("{", r"\{")):
        check_condition(expr, {"rows", "region", "a"})
