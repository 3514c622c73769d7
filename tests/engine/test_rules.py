"""The engine's rules, stepped by hand on the in-process executor with a fake clock: trigger
rules, retries and their delays, failure strategies, backfill and max_active_runs gates,
engine-task timeouts, stops. No subprocess starts and nothing sleeps."""

from __future__ import annotations

import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from shoal.engine.backfill import create_backfill
from shoal.engine.paths import log_path
from shoal.engine.runs import get_run, pause_run, resume_run, stop_run
from shoal.errors import Conflict
from shoal.store import utcnow
from shoal.store.models import runs
from tests.engine.stepping import Stepper
from tests.tasks.test_plugins import MakePlugin, make_plugin  # noqa: F401 - a fixture

OK = "outputs = {'n': ctx.attempt}"
FAIL = "raise RuntimeError('boom')"


def _task(name: str, script: str = OK, **extra: object) -> str:
    fields = ", ".join(f"{k}: {v}" for k, v in extra.items())
    return f"  - {{name: {name}, type: python, script: \"{script}\"{', ' + fields if fields else ''}}}\n"


def _workflow(name: str, *tasks: str, head: str = "") -> str:
    return f"name: {name}\n{head}tasks:\n" + "".join(tasks)


@pytest.fixture(autouse=True)
def _no_sleeping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any sleep in these tests is a bug: the engine is stepped, not waited for."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s")

    monkeypatch.setattr(time, "sleep", refuse)


class TestTriggerRules:
    def test_all_done_runs_after_a_failure_and_the_run_fails(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "all_done", _task("a", FAIL), _task("b", upstream="[a]", trigger_rule="all_done"),
            head="failure_strategy: continue\n",
        ))
        info = stepper.finish(stepper.trigger(name))
        assert {t.task: t.state for t in info.tasks} == {"a": "failed", "b": "success"}
        assert info.state == "success"  # a condition-like downstream handles the failure

    def test_one_success_starts_at_the_first_success(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "one_success", _task("fast"), _task("slow", upstream="[fast]"),
            _task("join", upstream="[fast, slow]", trigger_rule="one_success"),
        ))
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["fast"] == "success", "fast succeeding")
        assert stepper.states(run_id)["join"] in ("queued", "running", "success")
        assert stepper.finish(run_id).state == "success"

    def test_skipped_upstream_skips_all_success_but_not_none_failed(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "skips",
            "  - {name: check, type: condition, success_branch: [go], failure_branch: [stay]}\n",
            _task("go", upstream="[check]"), _task("stay", upstream="[check]"),
            _task("strict", upstream="[go, stay]"), _task("lenient", upstream="[go, stay]", trigger_rule="none_failed"),
        ))
        info = stepper.finish(stepper.trigger(name))
        assert {t.task: t.state for t in info.tasks} == {
            "check": "success", "go": "success", "stay": "skipped", "strict": "skipped", "lenient": "success",
        }

    def test_a_disabled_task_succeeds_without_running(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("disabled", _task("a", FAIL), _task("b", upstream="[a]")))
        info = stepper.finish(stepper.trigger(name, disabled=["a"]))
        assert {t.task: t.state for t in info.tasks} == {"a": "success", "b": "success"}
        assert [launch.key.split(":")[1] for launch in stepper.executor.launches] == ["1"]  # only b ran


class TestRetries:
    def test_a_flaky_task_retries_after_its_delay_on_the_fake_clock(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "flaky", _task("a", "assert ctx.attempt >= 3, 'flaky'; outputs = {'n': ctx.attempt}", retries=2,
                           retry_delay="10m"),
        ))
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "retrying", "the first failure")
        stepper.step(5)
        assert stepper.states(run_id)["a"] == "retrying"  # the delay has not passed on the clock
        stepper.clock.advance(600)
        stepper.step_until(lambda: get_run(stepper.store, run_id).tasks[0].attempt == 2, "the second attempt")
        stepper.clock.advance(600)
        info = stepper.finish(run_id)
        assert info.state == "success"
        (a,) = info.tasks
        assert (a.attempt, a.outputs) == (3, {"n": 3})

    def test_a_task_out_of_retries_fails_the_run(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("hopeless", _task("a", FAIL, retries=1, retry_delay="1s")))
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "retrying", "the first failure")
        stepper.clock.advance(1)
        info = stepper.finish(run_id)
        assert (info.state, info.tasks[0].attempt) == ("failed", 2)
        assert "boom" in (info.tasks[0].error or "")

    def test_backoff_doubles_the_delay(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "backoff", _task("a", "if ctx.attempt < 3: raise RuntimeError('x')", retries=2, retry_delay="60s",
                             retry_backoff=2),
        ))
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "retrying", "the first failure")
        stepper.clock.advance(60)
        stepper.step_until(lambda: get_run(stepper.store, run_id).tasks[0].attempt == 2
                           and stepper.states(run_id)["a"] == "retrying", "the second failure")
        stepper.clock.advance(60)
        stepper.step(5)
        assert stepper.states(run_id)["a"] == "retrying"  # 120s this time
        stepper.clock.advance(60)
        assert stepper.finish(run_id).state == "success"


class TestFailureStrategies:
    def test_end_stops_what_did_not_start(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "ends", _task("a", FAIL), _task("after_a", upstream="[a]"), _task("other", priority=-1),
            head="failure_strategy: end\nmax_active_tasks: 1\n",
        ))
        info = stepper.finish(stepper.trigger(name))
        assert {t.task: t.state for t in info.tasks} == {
            "a": "failed", "after_a": "upstream_failed", "other": "stopped",
        }
        assert info.state == "failed"

    def test_continue_runs_the_independent_branch(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "goes_on", _task("a", FAIL), _task("after_a", upstream="[a]"), _task("other", priority=-1),
            head="failure_strategy: continue\nmax_active_tasks: 1\n",
        ))
        info = stepper.finish(stepper.trigger(name))
        assert {t.task: t.state for t in info.tasks} == {
            "a": "failed", "after_a": "upstream_failed", "other": "success",
        }
        assert info.state == "failed"

    def test_end_does_not_retry_after_another_task_failed(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "no_retry", _task("a", FAIL), _task("b", FAIL, retries=3, retry_delay="1h"),
            head="failure_strategy: end\n",
        ))
        info = stepper.finish(stepper.trigger(name))
        assert {t.task: t.state for t in info.tasks} == {"a": "failed", "b": "failed"}
        b = next(t for t in info.tasks if t.task == "b")
        assert b.attempt == 1


class TestGates:
    def test_a_serial_backfill_runs_one_date_at_a_time_in_order(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("daily", _task("a")))
        _bf, run_ids = create_backfill(stepper.store, name, start=date(2026, 1, 1), end=date(2026, 1, 3), parallel=1)
        stepper.watch(run_ids)
        for n, run_id in enumerate(run_ids):
            stepper.executor.hold = True  # each date's task stays running while the test looks
            stepper.step(3)
            states = [get_run(stepper.store, rid).state for rid in run_ids]
            assert states == ["success"] * n + ["running"] + ["queued"] * (len(run_ids) - n - 1)
            stepper.executor.hold = False
            assert stepper.finish(run_id).state == "success"

    def test_max_active_runs_holds_later_runs_queued(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("one_at_a_time", _task("a"), head="max_active_runs: 1\n"))
        stepper.executor.hold = True  # attempts stay running until the test lets them go
        first = stepper.trigger(name, logical_date="2026-01-01")
        second = stepper.trigger(name, logical_date="2026-01-02")
        stepper.step(3)
        assert (get_run(stepper.store, first).state, get_run(stepper.store, second).state) == ("running", "queued")
        stepper.executor.hold = False
        assert stepper.finish(first).state == "success"
        assert stepper.finish(second).state == "success"


class TestEngineTaskTimeouts:
    def test_a_dependent_task_gives_up_at_its_timeout_on_the_fake_clock(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow(
            "waits", "  - {name: wait, type: dependent, workflow: never, poll_interval: 10m, timeout: 1h}\n",
        ))
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["wait"] == "running", "the wait starting")
        stepper.clock.advance(3599)
        stepper.step(3)
        assert stepper.states(run_id)["wait"] == "running"
        stepper.clock.advance(1)
        info = stepper.finish(run_id)
        assert info.state == "failed"
        assert info.tasks[0].error == "timed out waiting for 'never'"

    def test_a_dependent_task_is_met_by_a_later_success(self, stepper: Stepper) -> None:
        upstream = stepper.apply(_workflow("upstream", _task("a")))
        name = stepper.apply(_workflow(
            "waits_for", "  - {name: wait, type: dependent, workflow: upstream, poll_interval: 10m}\n",
        ))
        run_id = stepper.trigger(name, logical_date="2026-01-01")
        stepper.step(3)
        assert stepper.states(run_id)["wait"] == "running"
        up = stepper.trigger(upstream, logical_date="2026-01-01")
        assert stepper.finish(up).state == "success"
        stepper.clock.advance(600)
        info = stepper.finish(run_id)
        assert info.state == "success"
        assert info.tasks[0].outputs == {"run_id": up}

    def test_a_sub_workflow_past_its_timeout_stops_its_child(self, stepper: Stepper) -> None:
        stepper.apply(_workflow("child", _task("work")))
        name = stepper.apply(_workflow("parent", "  - {name: sub, type: sub_workflow, workflow: child, timeout: 5m}\n"))
        stepper.executor.hold = True  # the child's task stays running
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: len(stepper.executor.launches) == 1, "the child's task starting")
        stepper.clock.advance(300)
        info = stepper.finish(run_id)
        assert info.state == "failed"
        sub = info.tasks[0]
        assert sub.state == "failed" and sub.error == "timed out after 300s"
        child = stepper.executor.launches[0].payload["ctx"]["run_id"]
        stepper.step(3)
        assert get_run(stepper.store, child).state == "stopped"

    def test_a_sub_workflow_ends_with_its_child(self, stepper: Stepper) -> None:
        stepper.apply(_workflow("kid", _task("work", FAIL)))
        name = stepper.apply(_workflow("mom", "  - {name: sub, type: sub_workflow, workflow: kid}\n"))
        info = stepper.finish(stepper.trigger(name))
        sub = info.tasks[0]
        assert (info.state, sub.state) == ("failed", "failed")
        assert sub.outputs["state"] == "failed"


class TestTakeover:
    def test_a_new_driver_follows_a_sub_workflow_its_predecessor_started(self, stepper: Stepper) -> None:
        stepper.apply(_workflow("child_wf", _task("work")))
        name = stepper.apply(_workflow("parent_wf", "  - {name: sub, type: sub_workflow, workflow: child_wf}\n"))
        stepper.executor.hold = True  # the child's task is running when its driver goes away
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: len(stepper.executor.launches) == 1, "the child's task starting")
        child = stepper.executor.launches[0].payload["ctx"]["run_id"]
        stepper.close()
        with stepper.store.engine.begin() as conn:  # its owner gone, its leases run out
            conn.execute(update(runs).where(runs.c.id.in_([run_id, child]))
                         .values(owner="gone:1:0", lease_until=utcnow() - timedelta(minutes=1)))
        taker = Stepper(stepper.store, stepper.workdir)
        try:
            taker.watch([run_id, child])
            info = taker.finish(run_id)
        finally:
            taker.close()
        # The child's attempt left no result (its executor went with its driver): lost, and
        # with no retries its run failed, which the parent's task, polled again, ends with.
        work = get_run(stepper.store, child).tasks[0]
        assert (work.state, work.error) == ("failed", "lost: the driver running this attempt exited before it finished")
        assert (info.state, info.tasks[0].error) == ("failed", f"sub-workflow run {child} ended failed")


class TestStops:
    def test_stopping_a_run_kills_its_running_attempt(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("stoppable", _task("a"), _task("b", upstream="[a]")))
        stepper.executor.hold = True
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "running", "a starting")
        stop_run(stepper.store, run_id)
        stepper.step(3)
        assert stepper.driver.inflight == {}  # killed: the executor reported it, the driver let go
        info = get_run(stepper.store, run_id)
        assert (info.state, {t.task: t.state for t in info.tasks}) == ("stopped", {"a": "stopped", "b": "stopped"})


class TestPause:
    def test_a_paused_run_starts_nothing_until_resumed(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("pausable", _task("a"), _task("b", upstream="[a]")))
        stepper.executor.hold = True
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "running", "a starting")
        pause_run(stepper.store, run_id)
        stepper.executor.hold = False
        stepper.step(5)  # a ends and is recorded; b is ready but does not start
        assert stepper.states(run_id) == {"a": "success", "b": "queued"}
        assert get_run(stepper.store, run_id).state == "paused"
        assert len(stepper.executor.launches) == 1
        resume_run(stepper.store, run_id)
        info = stepper.finish(run_id)
        assert info.state == "success" and len(stepper.executor.launches) == 2

    def test_a_run_whose_last_task_ends_while_paused_ends(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("last", _task("a", FAIL)))
        stepper.executor.hold = True
        run_id = stepper.trigger(name)
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "running", "a starting")
        pause_run(stepper.store, run_id)
        stepper.executor.hold = False
        assert stepper.finish(run_id).state == "failed"

    def test_only_a_running_run_pauses_and_only_a_paused_one_resumes(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("fussy", _task("a")))
        run_id = stepper.trigger(name)
        with pytest.raises(Conflict, match="is queued, not running"):
            pause_run(stepper.store, run_id)
        stepper.finish(run_id)
        with pytest.raises(Conflict, match="is success, not paused"):
            resume_run(stepper.store, run_id)

    def test_a_stopped_paused_run_is_stopped(self, stepper: Stepper) -> None:
        name = stepper.apply(_workflow("halt", _task("a"), _task("b", upstream="[a]")))
        run_id = stepper.trigger(name)
        stepper.executor.hold = True
        stepper.step_until(lambda: stepper.states(run_id)["a"] == "running", "a starting")
        pause_run(stepper.store, run_id)
        stop_run(stepper.store, run_id)
        stepper.step(3)
        assert get_run(stepper.store, run_id).state == "stopped"
        assert stepper.driver.inflight == {}


SENSOR_MODULE = """
import os

from shoal.tasks.base import Done, EngineTaskType, TaskParams, Waiting


class FileParams(TaskParams):
    path: str
    poll_interval: float = 60.0


class FileSensor(EngineTaskType):
    name = "file_sensor"
    Params = FileParams

    def poll(self, ctx):
        p = ctx.task.params
        if os.path.exists(p.path):
            return Done(ok=True, outputs={"size": os.path.getsize(p.path)}, log=f"{p.path} is here")
        return Waiting(poll_in=p.poll_interval, log=f"waiting for {p.path}" if ctx.first_poll else None)
"""


class TestEngineTaskPlugins:
    def test_a_third_party_sensor_is_an_engine_task_like_any_other(
        self, stepper: Stepper, make_plugin: MakePlugin, tmp_path: Path,  # noqa: F811 - the fixture
    ) -> None:
        make_plugin("sensorplugin", SENSOR_MODULE, "[shoal.tasks]\nfile_sensor = sensorplugin:FileSensor\n")
        landing = tmp_path / "landing.csv"
        name = stepper.apply(_workflow(
            "sensed", f"  - {{name: wait, type: file_sensor, path: '{landing}'}}\n", _task("load", upstream="[wait]"),
        ))
        run_id = stepper.trigger(name)
        stepper.step(3)
        assert stepper.states(run_id)["wait"] == "running"
        landing.write_text("a,b\n")
        stepper.step(3)
        assert stepper.states(run_id)["wait"] == "running"  # next look in 60s, on the fake clock
        stepper.clock.advance(60)
        info = stepper.finish(run_id)
        assert {t.task: (t.state, t.outputs) for t in info.tasks}["wait"] == ("success", {"size": 4})
        assert info.state == "success"
        text = log_path(stepper.store.logs_dir, run_id, "wait", 1).read_text()
        assert f"waiting for {landing}" in text and f"{landing} is here" in text
