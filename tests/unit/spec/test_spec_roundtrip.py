"""Dumping and loading again gives the same workflow, and dumping is a fixed point."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.spec import Workflow, dump_json, dump_python, dump_yaml, load_text
from shoal.spec.models import TaskSpec, parse_duration

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,11}", fullmatch=True)
# Any text YAML can carry: no surrogates (not encodable) and no NUL-like C0 controls beyond \t\n.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
) | st.sampled_from([
    "echo hi\n", "line one\nline two", "  leading spaces\nx", "trailing  \nspaces", "yes", "null",
    "2026-01-01", "0x1F", "1e3", "${ds} $[yyyyMMdd-1]", "#not a comment", "a: b", "- item", "\tx",
    "multi\n\n\nblank\n\n", "\u2028odd breaks\x85", "'quoted'", '"dq"', "",
])
SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | TEXT | st.floats(
    allow_nan=False, allow_infinity=False
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
CONFIG_KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k not in TaskSpec.model_fields
)
DURATIONS = st.sampled_from(["1s", "5m", "2h", "1d", "250ms", "1.5s", 0, 3, 7.25, "90"])
MEMORY = st.sampled_from(["512Mi", "1Gi", "100M", 0, 1234567, "3Ki", "2Ti"])


@st.composite
def workflows(draw: Any) -> Workflow:
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    tasks: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        task: dict[str, Any] = {"name": name, "type": draw(st.sampled_from(["shell", "python", "switch"]))}
        if i and draw(st.booleans()):
            task["upstream"] = draw(st.lists(st.sampled_from(names[:i]), unique=True, min_size=1))
        task.update(draw(st.dictionaries(CONFIG_KEYS, JSON_VALUES, max_size=3)))
        optional: dict[str, Any] = {
            "description": TEXT,
            "params": st.dictionaries(NAMES, TEXT, max_size=2),
            "env": st.dictionaries(NAMES, TEXT, max_size=2),
            "retries": st.integers(0, 100),
            "retry_delay": DURATIONS,
            "retry_backoff": st.sampled_from([1.0, 2, 1.5]),
            "timeout": DURATIONS.filter(lambda d: parse_duration(d) > 0),  # 0 is rejected: no timeout is left out
            "priority": st.integers(-5, 5),
            "resources": st.fixed_dictionaries(
                {}, optional={"cpu": st.sampled_from([0.5, 1, 2, 16]), "memory": MEMORY, "gpu": st.integers(0, 4)}
            ),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                task[key] = draw(strategy)
        tasks.append(task)
    data: dict[str, Any] = {"name": draw(NAMES), "tasks": tasks}
    extras = st.fixed_dictionaries({}, optional={
        "project": NAMES,
        "description": TEXT,
        "params": st.dictionaries(NAMES, TEXT | st.integers(0, 99), max_size=3),
        "failure_strategy": st.sampled_from(["end", "continue"]),
        "max_active_tasks": st.integers(1, 64),
        "alerts": st.lists(st.fixed_dictionaries(
            {"on": st.lists(st.sampled_from(["failure", "success", "timeout", "retry"]), min_size=1, unique=True)},
            optional={"webhook": st.sampled_from(["https://hooks.example.com/a?b=c&d=e", "http://127.0.0.1:9/x"]),
                      "email": st.lists(st.sampled_from(["a@example.com", "on-call+x@b.example.org"]), unique=True)},
        ).filter(lambda r: r.get("webhook") or r.get("email")) | st.sampled_from([
            {"on": ["long_running"], "after": "30m", "email": ["a@example.com"]},
            {"on": "long_running", "after": 90, "webhook": "https://h.example.com/"},
        ]), max_size=3),
        "schedule": st.fixed_dictionaries(
            {"cron": st.sampled_from(["0 2 * * *", "*/5 * * * *", "@daily"])},
            optional={
                "timezone": st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York"]),
                "start": st.sampled_from(["2026-01-01", "2025-12-31T08:30:00"]),
                "end": st.sampled_from(["2027-01-01"]),
                "catchup": st.booleans(),
            },
        ),
    })
    data.update(draw(extras))
    return Workflow.model_validate(data)


ROUND_TRIP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUND_TRIP
@given(workflows())
def test_yaml_dump_then_load_gives_the_same_workflow(wf: Workflow) -> None:
    text = dump_yaml(wf)
    [again] = load_text(text, "yaml")
    assert again == wf
    assert dump_yaml(again) == text


@ROUND_TRIP
@given(workflows())
def test_json_dump_then_load_gives_the_same_workflow(wf: Workflow) -> None:
    text = dump_json(wf)
    [again] = load_text(text, "json")
    assert again == wf
    assert dump_json(again) == text


@ROUND_TRIP
@given(workflows())
def test_python_dump_rebuilds_the_same_workflow(wf: Workflow) -> None:
    [again] = load_text(dump_python(wf), "python", "<generated>")
    assert again == wf
