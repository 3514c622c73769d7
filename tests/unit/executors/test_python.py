"""Python attempts, forked (`isolation="fork"`) or in a warm worker (`isolation="worker"`)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from shoal.executors.base import Result
from shoal.executors.local import LocalExecutor
from tests.conftest import wait_until

from .conftest import HERE, MakeLaunch, pid_gone, run, wait_for
from .test_commands import log_lines

ISOLATIONS = ["fork", "worker"]


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_target_return_dict_is_merged_over_set_lines(
    ex: LocalExecutor, make_launch: MakeLaunch, isolation: str
) -> None:
    launch = make_launch("python", target="targets:echo", payload={"a": [1, 2]}, isolation=isolation)
    pid = ex.submit(launch)
    result = wait_for(ex, launch.key)
    assert result.is_success, result
    assert result.outputs == {
        "from_line": "line value",
        "shared": "from return",
        "echo": {"a": [1, 2]},
        "pid": pid,
    }
    assert pid not in (os.getpid(), ex.server_pid)
    lines = log_lines(launch.log_path)
    assert lines[0] == f"shoal: start {launch.key}: python targets:echo ({isolation}) (pid {pid})"
    assert f"hello from {pid}" in lines
    assert lines[-1].startswith(f"shoal: end {launch.key}: exit code 0")


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_exception_gives_type_and_message_and_a_traceback_in_the_log(
    ex: LocalExecutor, make_launch: MakeLaunch, isolation: str
) -> None:
    launch = make_launch("python", target="targets:boom", payload={"n": 7}, isolation=isolation)
    result = run(ex, launch)
    assert (result.exit_code, result.error) == (1, "ValueError: boom 7")
    text = "\n".join(log_lines(launch.log_path))
    assert "Traceback (most recent call last)" in text
    assert 'raise ValueError("boom "' in text


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_task_failed_gives_its_message_without_traceback(
    ex: LocalExecutor, make_launch: MakeLaunch, isolation: str
) -> None:
    launch = make_launch("python", target="targets:fail_cleanly", isolation=isolation)
    result = run(ex, launch)
    assert (result.exit_code, result.error) == (1, "the input table is empty")
    text = "\n".join(log_lines(launch.log_path))
    assert "Traceback" not in text
    assert "the input table is empty" in text


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("targets:not_json", "not JSON-serialisable"),
        ("targets:not_a_number", "returned NaN or Infinity in its outputs"),
        ("targets:not_a_dict", "returned list; a python task must return a dict"),
        ("targets:missing_function", "AttributeError"),
        ("no_such_module_anywhere:run", "ModuleNotFoundError: No module named 'no_such_module_anywhere'"),
    ],
)
def test_bad_targets_fail_with_a_clear_error(
    ex: LocalExecutor, make_launch: MakeLaunch, target: str, message: str
) -> None:
    result = run(ex, make_launch("python", target=target))
    assert result.exit_code == 1
    assert result.error is not None and message in result.error


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_sys_exit_code_is_the_exit_code(ex: LocalExecutor, make_launch: MakeLaunch, isolation: str) -> None:
    result = run(
        ex, make_launch("python", target="targets:exit_code", payload={"code": 4}, isolation=isolation)
    )
    assert (result.exit_code, result.error) == (4, "exit code 4")
    result = run(
        ex, make_launch("python", target="targets:exit_code", payload={"code": 0}, isolation=isolation)
    )
    assert result.is_success


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_process_that_vanishes_reports_its_exit_status(
    ex: LocalExecutor, make_launch: MakeLaunch, isolation: str
) -> None:
    launch = make_launch("python", target="targets:hard_exit", isolation=isolation)
    result = run(ex, launch)
    assert (result.exit_code, result.error) == (5, "exit code 5")
    assert "about to vanish" in log_lines(launch.log_path)


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_output_without_final_newline_is_kept(
    ex: LocalExecutor, make_launch: MakeLaunch, isolation: str
) -> None:
    launch = make_launch("python", target="targets:partial_output", isolation=isolation)
    result = run(ex, launch)
    assert result.outputs == {"ok": True}
    assert "no newline at the end" in log_lines(launch.log_path)


def test_fork_children_are_fresh_processes(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    first = run(ex, make_launch("python", target="targets:environment"))
    second = run(ex, make_launch("python", target="targets:environment"))
    assert first.outputs["pid"] != second.outputs["pid"]
    assert second.outputs["extra"] is None  # what the first one leaked died with it


def test_worker_is_reused_and_its_state_restored(make_launch: MakeLaunch, tmp_path: Path) -> None:
    with LocalExecutor(preload=[], workers=1) as executor:
        env = {"SHOAL_TEST_VAR": "set-by-launch"}
        first = run(executor, make_launch("python", target="targets:environment", isolation="worker", env=env,
                                          cwd=str(tmp_path)))  # fmt: skip
        second = run(executor, make_launch("python", target="targets:environment", isolation="worker"))
    assert first.is_success and second.is_success
    assert first.outputs["pid"] == second.outputs["pid"]  # the same warm worker
    assert first.outputs["var"] == "set-by-launch"
    assert first.outputs["cwd"] == str(tmp_path)
    assert first.outputs["path0"] == HERE
    # The first task set SHOAL_TEST_EXTRA, chdir'd to / and pushed /leaked onto sys.path.
    assert second.outputs["var"] is None
    assert second.outputs["extra"] is None
    assert second.outputs["cwd"] == os.getcwd()
    assert second.outputs["path0"] == HERE  # its own sys_path first, no "/leaked"


def test_worker_imports_an_edited_module_afresh_and_keeps_an_unchanged_one(
    make_launch: MakeLaunch, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "__init__.py").write_text("")
    (code / "pkg" / "helper.py").write_text("VALUE = 'old'\n")
    (code / "usercode.py").write_text(
        "import os\nfrom pkg import helper\nLOADED = os.getpid(), id(helper)\n"
        "def task(payload):\n    return {'value': helper.VALUE, 'loaded': list(LOADED)}\n"
    )

    def call() -> Result:
        return run(executor, make_launch("python", target="usercode:task", isolation="worker", sys_path=[str(code)]))

    with LocalExecutor(preload=[], workers=1) as executor:
        first, unchanged = call(), call()
        helper = code / "pkg" / "helper.py"
        helper.write_text("VALUE = 'new'\n")
        os.utime(helper, (time.time() + 5, time.time() + 5))  # a clearly later mtime, whatever the clock
        edited = call()
    assert [r.outputs["value"] for r in (first, unchanged, edited)] == ["old", "old", "new"]
    assert first.outputs["loaded"] == unchanged.outputs["loaded"]  # kept: nothing changed
    assert edited.outputs["loaded"][0] == first.outputs["loaded"][0]  # the same warm worker...
    assert edited.outputs["loaded"] != first.outputs["loaded"]  # ...that imported the code again


def test_worker_imports_a_same_named_module_of_another_directory_afresh(
    make_launch: MakeLaunch, tmp_path: Path
) -> None:
    """Two workflows applied from different directories, each with its own `usercode.py`, share
    one warm worker: each task runs its own directory's module, never the one left imported."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "usercode.py").write_text(f"def task(payload):\n    return {{'who': {name!r}}}\n")

    def call(name: str, dirs: list[str]) -> Result:
        return run(executor, make_launch("python", target="usercode:task", isolation="worker", sys_path=dirs))

    # As the engine passes them: the apply directory first, then the workflow file's directory.
    a, b = [str(tmp_path), str(tmp_path / "a")], [str(tmp_path), str(tmp_path / "b")]
    with LocalExecutor(preload=[], workers=1) as executor:
        results = [call("a", a), call("b", b), call("a", a), call("a", a)]
    assert [r.outputs["who"] for r in results] == ["a", "b", "a", "a"]
    assert len({r.pid for r in results}) == 1  # one warm worker ran them all

def test_worker_launches_queue_while_all_workers_are_busy(make_launch: MakeLaunch) -> None:
    with LocalExecutor(preload=[], workers=1) as executor:
        first = make_launch("python", target="targets:sleep", payload={"seconds": 0.3}, isolation="worker")
        second = make_launch("python", target="targets:echo", isolation="worker")
        worker_pid = executor.submit(first)
        assert executor.submit(second) == 0  # queued: no process of its own yet
        assert executor.running() == {first.key, second.key}
        results = {first.key: wait_for(executor, first.key)}
        results[second.key] = wait_for(executor, second.key)
    assert all(r.is_success for r in results.values())
    assert results[second.key].pid == worker_pid
    assert results[second.key].started_at >= results[first.key].ended_at - 0.01  # type: ignore[operator]
    assert "hello from" not in "\n".join(log_lines(first.log_path))  # no output crossed over


def test_killing_a_queued_worker_launch_never_starts_it(make_launch: MakeLaunch) -> None:
    with LocalExecutor(preload=[], workers=1) as executor:
        busy = make_launch("python", target="targets:sleep", payload={"seconds": 0.3}, isolation="worker")
        queued = make_launch("python", target="targets:echo", isolation="worker")
        executor.submit(busy)
        executor.submit(queued)
        executor.kill(queued.key)
        result = wait_for(executor, queued.key)
        assert result.killed and result.pid is None and result.exit_code is None
        assert wait_for(executor, busy.key).is_success


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_timeout_kills_python_task(make_launch: MakeLaunch, isolation: str) -> None:
    with LocalExecutor(preload=[], workers=1, kill_grace=0.5) as executor:
        launch = make_launch("python", target="targets:sleep", isolation=isolation, timeout=0.3)
        pid = executor.submit(launch)
        result = wait_for(executor, launch.key)
        assert result.timed_out and result.error == "timed out after 0.3s"
        assert result.exit_code == (-15 if isolation == "fork" else -9)
        assert pid_gone(pid)
        if isolation == "worker":  # a fresh worker replaces the killed one
            after = run(executor, make_launch("python", target="targets:echo", isolation="worker"))
            assert after.is_success and after.pid != pid


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_kill_python_task(ex: LocalExecutor, make_launch: MakeLaunch, isolation: str) -> None:
    launch = make_launch("python", target="targets:sleep", isolation=isolation)
    ex.submit(launch)
    time.sleep(0.05)
    ex.kill(launch.key)
    result = wait_for(ex, launch.key)
    assert result.killed and result.error == "killed"
    on_disk = Result.from_dict(json.loads(Path(launch.result_path).read_text()))
    assert on_disk == result


def test_many_worker_tasks_keep_output_and_order(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launches = [
        make_launch("python", target="targets:echo", payload={"i": i}, isolation="worker") for i in range(20)
    ]
    for launch in launches:
        ex.submit(launch)
    seen: dict[str, Result] = {}
    while len(seen) < len(launches):
        for result in ex.poll(10):
            seen[result.key] = result
    for i, launch in enumerate(launches):
        assert seen[launch.key].outputs["echo"] == {"i": i}
        lines = log_lines(launch.log_path)
        assert sum(line.startswith("hello from") for line in lines) == 1
        assert lines[-1].startswith(f"shoal: end {launch.key}")


def test_preload_failures_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING"), LocalExecutor(preload=["no_such_module_for_shoal", "json"]) as executor:
        assert executor.server_pid
    assert "no_such_module_for_shoal" in caplog.text
    assert sys.executable  # the server ran on this interpreter; nothing else to check


def test_what_a_forked_task_leaves_running_is_killed_when_it_ends(
    ex: LocalExecutor, make_launch: MakeLaunch
) -> None:
    launch = make_launch("python", target="targets:leave_behind", isolation="fork")
    ex.submit(launch)
    result = wait_for(ex, launch.key)
    assert result.is_success, result
    assert pid_gone(result.outputs["left"]), "the task's leftover `sleep 300` still runs"


def test_the_default_fork_server_carries_no_task_type_it_was_not_asked_for(make_launch: MakeLaunch) -> None:
    """A fork costs in proportion to the server's memory: the libraries of `sql` or `train`
    stay out of it, and out of every forked task, until a task of that type has run."""
    unused = ["shoal.tasks.sql", "shoal.tasks.ml", "shoal.tasks.features", "sqlalchemy", "duckdb"]
    with LocalExecutor() as executor:
        result = run(executor, make_launch("python", target="targets:has_modules", payload={"modules": unused}))
    assert result.outputs["had"] == dict.fromkeys(unused, False), result


@pytest.mark.parametrize("isolation", ISOLATIONS)
def test_a_launch_warms_the_fork_server_for_the_next_ones(make_launch: MakeLaunch, isolation: str) -> None:
    """The modules a launch names in `warm` are imported by the server once it is idle, and the
    spare forked before that is replaced: later forks start with them."""
    module = "wsgiref.simple_server"  # nothing here imports it
    asked = {"target": "targets:has_modules", "payload": {"modules": [module]}}
    with LocalExecutor(preload=[], workers=1) as executor:
        first = run(executor, make_launch("python", isolation=isolation, warm=[module], **asked))
        assert first.outputs["had"] == {module: False}, first  # forked before: it imports it itself
        wait_until(lambda: run(executor, make_launch("python", **asked)).outputs["had"][module], 10,
                   "the fork server never imported the module", interval=0.05)
        again = run(executor, make_launch("python", **asked))
        assert again.outputs["had"] == {module: True}, again
