"""The in-process executor: python launches run in this process when polled, their outcome as
`LocalExecutor` would report it; and the executor contract's recovery calls, on both executors."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from shoal.executors.base import Attempt, Executor, Result, read_result
from shoal.executors.inline import InlineExecutor
from shoal.executors.local import LocalExecutor
from tests.unit.executors.conftest import MakeLaunch


def test_both_executors_implement_the_contract() -> None:
    executors: list[Executor] = [InlineExecutor(), LocalExecutor()]
    for ex in executors:
        for name in ("submit", "poll", "kill", "running", "recover", "leftover", "restart"):
            assert callable(getattr(ex, name)), name


def test_a_python_launch_runs_when_polled_with_outputs_log_and_result_file(make_launch: MakeLaunch) -> None:
    ex = InlineExecutor()
    launch = make_launch("python", target="targets:echo", payload={"x": 1})
    ex.submit(launch)
    assert ex.is_running(launch.key)  # submitted, not run yet
    (result,) = ex.poll(0)
    assert result.is_success
    assert result.outputs["echo"] == {"x": 1}
    assert result.outputs["from_line"] == "line value"
    assert result.outputs["shared"] == "from return"  # the return dict wins over a set line
    assert result.outputs["pid"] == os.getpid()  # in this very process
    assert "hello from" in Path(launch.log_path).read_text()
    assert read_result(launch.result_path, launch.key) == result
    assert not ex.is_running(launch.key) and ex.poll(0) == []


def test_a_failing_target_fails_its_attempt_only(make_launch: MakeLaunch) -> None:
    ex = InlineExecutor()
    launch = make_launch("python", target="targets:boom", payload={"n": 3})
    ex.submit(launch)
    (result,) = ex.poll(0)
    assert (result.exit_code, result.error) == (1, "ValueError: boom 3")
    assert "Traceback" in Path(launch.log_path).read_text()


def test_what_a_launch_changes_about_the_process_is_put_back(make_launch: MakeLaunch, tmp_path: Path) -> None:
    ex = InlineExecutor()
    cwd, path = os.getcwd(), list(sys.path)
    launch = make_launch("python", target="targets:environment", env={"SHOAL_TEST_VAR": "v"}, cwd=str(tmp_path))
    ex.submit(launch)
    (result,) = ex.poll(0)
    assert result.outputs["var"] == "v" and result.outputs["cwd"] == str(tmp_path)
    assert (os.getcwd(), sys.path) == (cwd, path)
    assert "SHOAL_TEST_VAR" not in os.environ and "SHOAL_TEST_EXTRA" not in os.environ


def test_a_held_attempt_stays_running_until_killed(make_launch: MakeLaunch) -> None:
    ex = InlineExecutor()
    ex.hold = True
    launch = make_launch("python", target="targets:noop")
    ex.submit(launch)
    assert ex.poll(0) == [] and ex.running() == {launch.key}
    ex.kill(launch.key, "killed: stopped by user")
    (result,) = ex.poll(0)
    assert (result.killed, result.error, result.is_success) == (True, "killed: stopped by user", False)


def test_a_command_launch_is_spawned_with_its_set_lines(make_launch: MakeLaunch) -> None:
    ex = InlineExecutor()
    launch = make_launch(argv=["sh", "-c", "echo '##shoal:set rows=42'; exit 3"])
    ex.submit(launch)
    (result,) = ex.poll(0)
    assert (result.exit_code, result.outputs, result.error) == (3, {"rows": "42"}, "exit code 3")


def _write_result(path: str, result: Result) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result.to_dict()))


def test_recover_reads_what_ended_and_reports_the_rest_lost(make_launch: MakeLaunch) -> None:
    done, gone = make_launch(), make_launch()
    _write_result(done.result_path, Result(key=done.key, exit_code=0, outputs={"a": 1}))
    attempts = [
        # Another host's attempts: nothing to wait for here, only their result files to read.
        Attempt(key=launch.key, result_path=launch.result_path, host="elsewhere", executor_pid=1)
        for launch in (done, gone)
    ]
    for ex in (InlineExecutor(), LocalExecutor()):
        ok, lost = ex.recover(attempts, owner_gone=True, keep_alive=lambda: None)
        assert ok.is_success and ok.outputs == {"a": 1}
        assert (lost.key, lost.lost, lost.killed, lost.is_success) == (gone.key, True, True, False)


def test_recover_does_not_wait_for_an_executor_that_is_gone(make_launch: MakeLaunch) -> None:
    launch = make_launch()
    me = socket.gethostname()
    # This host, an executor pid that is no executor (this test process): nobody will write.
    attempt = Attempt(key=launch.key, result_path=launch.result_path, host=me, executor_pid=os.getpid())
    (result,) = LocalExecutor().recover([attempt], owner_gone=False, keep_alive=lambda: None)
    assert result.lost


def test_leftover_keeps_a_success_and_discards_anything_else(make_launch: MakeLaunch) -> None:
    good, stale = make_launch(), make_launch()
    _write_result(good.result_path, Result(key=good.key, exit_code=0))
    _write_result(stale.result_path, Result(key=stale.key, exit_code=None, killed=True))
    for ex in (InlineExecutor(), LocalExecutor()):
        assert ex.leftover(good) is not None and ex.leftover(good).is_success  # type: ignore[union-attr]
    assert LocalExecutor().leftover(stale) is None
    assert not os.path.exists(stale.result_path)
