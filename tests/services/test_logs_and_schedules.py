"""services.logs (read and follow task logs) and services.schedules (list, pause, resume)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from shoal.errors import Conflict, InvalidInput, NotFound
from shoal.services import logs, runs, schedules, workflows
from shoal.services.logs import LogLine, TaskLogs
from shoal.services.schedules import ScheduleInfo
from shoal.store import Store

TWO_ATTEMPTS = """\
    name: l
    tasks:
      - name: a
        type: shell
        retries: 1
        retry_delay: 0s
        command: 'echo "try $SHOAL_ATTEMPT"; test "$SHOAL_ATTEMPT" = 2'
      - {name: b, type: shell, command: 'echo bee', upstream: [a]}
"""


@pytest.fixture
def finished(store: Store, executor, write: Callable[[str, str], Path]) -> int:  # type: ignore[no-untyped-def]
    workflows.apply_path(store, write("l", TWO_ATTEMPTS))
    run_id = runs.trigger(store, "l").id
    runs.wait(store, [run_id], timeout=120, executor=executor)
    assert runs.show(store, run_id).state == "success"
    return run_id


def test_task_logs_lists_each_attempt_and_reads_it(store: Store, finished: int) -> None:
    found = {t.task: t for t in logs.task_logs(store, finished)}
    assert [log.attempt for log in found["a"].attempts] == [1, 2] and found["b"].state == "success"
    text = "".join(logs.read_chunks(found["a"].attempts[1].path))
    assert "try 2" in text and "try 1" not in text
    (only,) = logs.task_logs(store, finished, "a", attempt=1)
    assert [log.attempt for log in only.attempts] == [1]
    assert logs.log_paths(store, runs.show(store, finished), "b") == [found["b"].attempts[0].path]
    assert b'"attempt":2' in TypeAdapter(list[TaskLogs]).dump_json(list(found.values()))


def test_task_logs_name_what_does_not_exist(store: Store, finished: int) -> None:
    with pytest.raises(NotFound, match="no task 'zz'; its tasks: a, b"):
        logs.task_logs(store, finished, "zz")
    with pytest.raises(InvalidInput, match="its attempts are 1 to 2"):
        logs.task_logs(store, finished, "a", attempt=3)
    with pytest.raises(NotFound, match="project 'other'"):
        logs.task_logs(store, finished, project="other")


def test_following_an_ended_run_yields_its_lines_and_ends(store: Store, finished: int) -> None:
    events = list(logs.follow(store, finished, poll=0.01))
    lines = [(e.task, e.attempt) for e in events if isinstance(e, LogLine) and e.text.endswith(("try 1", "bee"))]
    assert lines == [("a", 1), ("b", 1)]
    one = list(logs.follow(store, finished, "a", attempt=2, poll=0.01))
    assert isinstance(one[0], logs.NewAttempt) and one[0].attempt == 2
    assert any(isinstance(e, LogLine) and e.text.endswith("try 2") for e in one)
    with pytest.raises(InvalidInput, match="no attempt 5"):
        list(logs.follow(store, finished, "b", attempt=5, poll=0.01))


SCHEDULED = """\
    name: nightly
    schedule: {cron: "0 2 * * *", timezone: Asia/Shanghai}
    tasks: [{name: a, type: shell, command: 'true'}]
"""


def test_schedules_list_pause_resume(store: Store, write: Callable[[str, str], Path]) -> None:
    workflows.apply_path(store, write("nightly", SCHEDULED))
    workflows.apply_path(store, write("plain", "name: plain\ntasks: [{name: a, type: shell, command: 'true'}]\n"))
    (info,) = schedules.list_schedules(store)
    assert (info.workflow, info.cron, info.timezone, info.paused) == ("nightly", "0 2 * * *", "Asia/Shanghai", False)
    assert info.next_fire_at is not None
    assert schedules.pause(store, "nightly").paused is True
    with pytest.raises(Conflict, match="already paused"):
        schedules.pause(store, "nightly")
    assert schedules.resume(store, "nightly").paused is False
    with pytest.raises(NotFound, match="has no schedule"):
        schedules.pause(store, "plain")
    assert b'"cron":"0 2 * * *"' in TypeAdapter(list[ScheduleInfo]).dump_json(schedules.list_schedules(store))
