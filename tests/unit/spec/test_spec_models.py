"""Field rules of the models: bounds that fit the database and the engine's date arithmetic, no
booleans for numbers, finite durations, crons that fire, and stored definitions staying readable."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from shoal.spec import Problem, SpecError, Workflow, load_text, validate_project_name
from shoal.spec.models import MAX_DURATION, TaskSpec, parse_duration, parse_memory


def only_problem(data: dict[str, Any]) -> Problem:
    with pytest.raises(SpecError) as info:
        load_text(json.dumps(data), "json", "wf.json")
    [problem] = info.value.problems
    return problem


def task_problem(key: str, value: Any) -> str:
    """The message of the one problem of a workflow whose task has `key: value`."""
    problem = only_problem({"name": "wf", "tasks": [{"name": "a", "type": "shell", key: value}]})
    assert (problem.task, problem.field) == ("a", key)
    return problem.message


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("priority", 3_000_000_000, "priority 3000000000 is out of range: it must be between -1,000,000 and 1,000,000"),
        ("priority", -1_000_001, "priority -1000001 is out of range"),
        ("priority", 1e20, "priority 100000000000000000000 is out of range"),
        ("priority", True, "expected a number, got the boolean true"),
        ("retries", True, "expected a number, got the boolean true"),
        ("retries", False, "expected a number, got the boolean false"),
        ("retry_backoff", True, "expected a number, got the boolean true"),
        ("timeout", 0, "timeout must be greater than 0; leave it out for no timeout"),
        ("timeout", "0s", "timeout must be greater than 0; leave it out for no timeout"),
        ("timeout", "366d", "invalid duration '366d': at most 365d"),
        ("retry_delay", "2000000000d", "invalid duration '2000000000d': at most 365d"),
        ("retry_delay", 1e300, "at most 365d"),
        ("retry_delay", "9" * 400 + "s", "must be a finite number of seconds"),
    ],
)
def test_out_of_range_numbers_are_rejected_naming_the_field(key: str, value: Any, message: str) -> None:
    assert message in task_problem(key, value)


@pytest.mark.parametrize("text", [".inf", "-.inf", ".nan"])
@pytest.mark.parametrize("key", ["retry_delay", "timeout", "retry_backoff"])
def test_yaml_infinity_and_nan_are_rejected(key: str, text: str) -> None:
    with pytest.raises(SpecError, match="finite number") as info:
        load_text(f"name: wf\ntasks:\n  - {{name: a, type: shell, {key}: {text}}}\n")
    [problem] = info.value.problems
    assert (problem.task, problem.field, problem.line) == ("a", key, 3)


def test_infinite_memory_is_a_spec_error_not_an_overflow() -> None:
    with pytest.raises(ValueError, match="finite number of bytes"):
        parse_memory(float("inf"))
    with pytest.raises(SpecError, match="field 'resources.memory': invalid memory '9999"):
        load_text("name: wf\ntasks:\n  - {name: a, type: shell, resources: {memory: " + "9" * 400 + "Gi}}\n")


def test_bounds_are_inclusive_and_one_step_past_is_rejected() -> None:
    [wf] = load_text(
        "name: wf\nmax_active_runs: 1000000\nmax_active_tasks: 1\ntasks:\n"
        "  - {name: a, type: shell, priority: -1000000, timeout: 365d, retry_delay: 0, retries: 100}\n"
        "  - {name: b, type: shell, priority: 1000000, timeout: 250ms, resources: {gpu: 4096, memory: 1024Ti}}\n"
    )
    assert wf.task("a").timeout == MAX_DURATION and wf.task("b").priority == 1_000_000
    assert parse_duration(7.5) == 7.5
    for key, past in (("priority", 1_000_001), ("timeout", MAX_DURATION + 1), ("resources", {"gpu": 4097})):
        with pytest.raises(SpecError):
            load_text(json.dumps({"name": "wf", "tasks": [{"name": "a", "type": "shell", key: past}]}), "json")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("max_active_runs", 5_000_000_000, "max_active_runs 5000000000 is out of range: it must be between 1 and"),
        ("max_active_tasks", True, "expected a number, got the boolean true"),
    ],
)
def test_workflow_limits_are_bounded(key: str, value: Any, message: str) -> None:
    problem = only_problem({"name": "wf", key: value, "tasks": [{"name": "a", "type": "shell"}]})
    assert problem.field == key and message in problem.message


def schedule_problem(schedule: str) -> str:
    with pytest.raises(SpecError) as info:
        load_text(f"name: wf\nschedule: {schedule}\ntasks:\n  - {{name: a, type: shell}}\n")
    [problem] = info.value.problems
    return f"{problem.field}: {problem.message}"


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 0 30 2 *", "schedule.cron: cron '0 0 30 2 *' never fires: day(s) [30] can never occur in month(s) [2]"),
        ("0 0 31 4 *", "schedule.cron: cron '0 0 31 4 *' never fires"),
        ("0 0 31 2,4,6,9,11 *", "never fires"),
        ("0 25 * * *", "schedule.cron: invalid cron expression '0 25 * * *': hour '25' is out of range (0-23)"),
        ("0 2 * * 8", "day-of-week '8' is out of range (0-7"),
        ("60 * * * *", "minute '60' is out of range (0-59)"),
        ("0 0 0 * *", "day-of-month '0' is out of range (1-31)"),
        ("0 0 * 13 *", "month '13' is out of range (1-12"),
        ("*/0 * * * *", "minute '*/0' is not valid: step '0' is not acceptable"),
        ("every day", "expected 5 fields (minute hour day-of-month month day-of-week), got 2"),
        ("@reboot", "unknown cron alias '@reboot'"),
        ("0 2 * * " + ",".join(["1"] * 70), "cron expression is 147 characters long: at most 128 fit"),
    ],
)
def test_cron_problems_give_the_real_reason(cron: str, message: str) -> None:
    assert message in schedule_problem(f"{{cron: '{cron}'}}")


@pytest.mark.parametrize(
    ("fires", "never"),
    [
        ("0 0 29 2 *", "0 0 30 2 *"), ("0 0 31 1,4 *", "0 0 31 4,6 *"), ("0 0 L 2 *", "0 0 31 2 *"),
        ("@daily", "0 0 31 11 *"),
    ],
)
def test_rare_crons_are_accepted_and_impossible_ones_rejected(fires: str, never: str) -> None:
    [wf] = load_text(f"name: wf\nschedule: {{cron: '{fires}'}}\ntasks:\n  - {{name: a, type: shell}}\n")
    assert wf.schedule is not None and wf.schedule.cron == fires
    assert f"cron {never!r} never fires" in schedule_problem(f"{{cron: '{never}'}}")


@pytest.mark.parametrize(
    ("start", "end", "fine"),
    [
        ("2026-03-01", "2026-01-01", "2026-03-01"),  # an end date includes its whole day
        ("2026-03-01", "'2026-02-28T23:00:00'", "'2026-03-01T00:00:00'"),
        ("'2026-03-01T10:00:00'", "'2026-03-01T09:59:00'", "2026-03-01"),
        ("'2026-01-01T10:00:00+08:00'", "'2026-01-01T01:00:00+00:00'", "'2026-01-01T02:00:00+00:00'"),
    ],
)
def test_schedule_end_before_start_is_rejected(start: str, end: str, fine: str) -> None:
    message = schedule_problem(f"{{cron: '0 2 * * *', start: {start}, end: {end}}}")
    assert message.startswith("schedule.end: end ") and "is before start" in message
    schedule = f"{{cron: '0 2 * * *', start: {start}, end: {fine}}}"
    load_text(f"name: wf\nschedule: {schedule}\ntasks: [{{name: a, type: shell}}]")


def test_stored_definitions_stay_readable_under_the_new_bounds() -> None:
    stored = {
        "name": "old", "max_active_runs": 5_000_000_000,
        "schedule": {"cron": "0 2 * * *", "start": "2026-03-01", "end": "2026-01-01"},
        "tasks": [{"name": "a", "type": "shell", "timeout": 0, "priority": 3_000_000_000, "retry_delay": 400 * 86400}],
    }
    with pytest.raises(pydantic.ValidationError):
        Workflow.model_validate(stored)
    wf = Workflow.from_stored(stored)
    assert (wf.task("a").timeout, wf.task("a").priority, wf.max_active_runs) == (0, 3_000_000_000, 5_000_000_000)


def test_retry_wait_is_capped_so_the_engine_cannot_overflow() -> None:
    task = TaskSpec(name="a", type="shell", retries=100, retry_delay=86400, retry_backoff=10)
    assert task.retry_wait(1) == 86400 and task.retry_wait(2) == 864000
    assert task.retry_wait(101) == MAX_DURATION


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x y", "field 'project': invalid project '../x y': use letters, digits, '_' and '-'"),
        ("", "field 'project': invalid project '': use letters"),
        ("p" * 200, "field 'project': invalid project: it is 200 characters long, at most 128 fit"),
    ],
)
def test_a_project_name_given_on_its_own_is_validated_like_the_field(name: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        validate_project_name(name)
    assert str(info.value) == message or str(info.value).startswith(message)


def test_a_valid_project_name_is_returned() -> None:
    assert validate_project_name("team_a-1") == "team_a-1"
    assert validate_project_name("p" * 128) == "p" * 128
