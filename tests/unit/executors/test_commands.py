"""Command attempts: exit codes, logs, `##shoal:set` outputs, result files, kill and timeouts."""

from __future__ import annotations

import json
import os
import re
import select
import signal
from pathlib import Path

import psutil
import pytest

from shoal.executors.base import Result
from shoal.executors.local import ExecutorDied, LocalExecutor

from .conftest import MakeLaunch, pid_gone, run, wait_for, wait_gone

STAMPED = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] (.*)$")


def log_lines(path: str) -> list[str]:
    """The log's lines without their timestamps (every line must have one)."""
    lines = Path(path).read_text().splitlines()
    assert lines, f"{path} is empty"
    bodies = []
    for line in lines:
        m = STAMPED.match(line)
        assert m, f"line without timestamp: {line!r}"
        bodies.append(m.group(1))
    return bodies


def test_successful_command_reports_exit_code_zero(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["true"])
    result = run(ex, launch)
    assert result.is_success
    assert (result.exit_code, result.error, result.timed_out, result.killed) == (0, None, False, False)
    assert result.started_at is not None and result.ended_at is not None
    assert result.started_at <= result.ended_at


def test_failing_command_reports_its_exit_code(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    result = run(ex, make_launch(argv=["sh", "-c", "exit 3"]))
    assert not result.is_success
    assert result.exit_code == 3
    assert result.error == "exit code 3"


def test_command_killed_by_a_signal_reports_minus_signum(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    result = run(ex, make_launch(argv=["sh", "-c", "kill -9 $$"]))
    assert result.exit_code == -9
    assert result.error == "killed by SIGKILL"
    assert not result.killed  # nobody asked for it


def test_submit_returns_the_pid_of_the_started_process(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["sh", "-c", "echo $$"])
    pid = ex.submit(launch)
    result = wait_for(ex, launch.key)
    assert pid == result.pid
    assert f"{pid}" in log_lines(launch.log_path)
    assert pid != ex.server_pid


def test_output_lines_are_timestamped_between_header_and_footer(
    ex: LocalExecutor, make_launch: MakeLaunch
) -> None:
    script = r"echo one; echo two >&2; printf 'caf\303\251 \377\376 bin\r\n'; printf 'no newline'"
    launch = make_launch(argv=["sh", "-c", script])
    run(ex, launch)
    lines = log_lines(launch.log_path)
    assert lines[0].startswith(f"shoal: start {launch.key}: sh -c ")
    assert "pid" in lines[0]
    assert lines[1:5] == ["one", "two", "café \ufffd\ufffd bin", "no newline"]
    assert lines[5].startswith(f"shoal: end {launch.key}: exit code 0 (")
    assert len(lines) == 6


def test_log_is_appended_and_its_directory_created(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["echo", "first"])
    run(ex, launch)
    again = make_launch(argv=["echo", "second"], log_path=launch.log_path)
    run(ex, again)
    bodies = log_lines(launch.log_path)
    assert "first" in bodies and "second" in bodies


def test_shoal_set_lines_become_outputs_later_wins(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    script = (
        "echo '##shoal:set auc=0.5'; echo '##shoal:set path= /data/x y  '; "
        "echo '##shoal:set auc=0.81'; echo '##shoal:set 9bad=1'; echo 'text ##shoal:set no=1'"
    )
    result = run(ex, make_launch(argv=["sh", "-c", script]))
    assert result.outputs == {"auc": "0.81", "path": "/data/x y"}


def test_env_is_added_and_cwd_is_used(ex: LocalExecutor, make_launch: MakeLaunch, tmp_path: Path) -> None:
    script = (
        'echo "##shoal:set var=$SHOAL_T_VAR"; echo "##shoal:set cwd=$(pwd)"; echo "##shoal:set home=$HOME"'
    )
    result = run(ex, make_launch(argv=["sh", "-c", script], env={"SHOAL_T_VAR": "v1"}, cwd=str(tmp_path)))
    assert result.outputs["var"] == "v1"
    assert result.outputs["cwd"] == str(tmp_path)
    assert result.outputs["home"] == os.environ.get("HOME", "")


def test_missing_program_fails_through_poll(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["/nonexistent/shoal-no-such-program"])
    assert ex.submit(launch) == 0
    result = wait_for(ex, launch.key)
    assert result.exit_code is None and not result.is_success
    assert result.error is not None and "failed to start" in result.error and "No such file" in result.error
    assert "failed to start" in log_lines(launch.log_path)[-1]


def test_result_file_is_written_and_equals_the_polled_result(
    ex: LocalExecutor, make_launch: MakeLaunch
) -> None:
    launch = make_launch(argv=["sh", "-c", "echo '##shoal:set k=v'; exit 2"])
    result = run(ex, launch)
    on_disk = Result.from_dict(json.loads(Path(launch.result_path).read_text()))
    assert on_disk == result
    assert not Path(launch.result_path + ".tmp").exists()  # renamed into place, not written in place


def test_timeout_kills_the_whole_process_group(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["sh", "-c", "sleep 100 & echo started; sleep 100"], timeout=0.5)
    pid = ex.submit(launch)
    leader = psutil.Process(pid)
    grandchildren: list[psutil.Process] = []
    while len(grandchildren) < 2:  # the background sleep and the foreground one
        grandchildren = leader.children(recursive=True)
    result = wait_for(ex, launch.key)
    assert result.timed_out and not result.killed
    assert result.error == "timed out after 0.5s"
    assert result.exit_code == -15
    assert not wait_gone(grandchildren)


def test_sigterm_ignoring_task_is_sigkilled_after_grace(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(
        argv=["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.05; done"], timeout=0.2
    )
    result = run(ex, launch)
    assert result.timed_out
    assert result.exit_code == -9


def test_kill_terminates_a_running_attempt(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["sleep", "100"])
    ex.submit(launch)
    assert launch.key in ex.running()
    ex.kill(launch.key)
    result = wait_for(ex, launch.key)
    assert result.killed and not result.timed_out and not result.is_success
    assert result.error == "killed"
    assert launch.key not in ex.running()
    ex.kill(launch.key)  # already finished: ignored


def test_exited_command_whose_grandchild_holds_the_pipe_finishes_and_the_grandchild_is_killed(
    ex: LocalExecutor, make_launch: MakeLaunch, tmp_path: Path
) -> None:
    # The grandchild would keep stdout open for 30s; the attempt ends about a second after `sh`
    # exits, and what it left running in its process group is killed then.
    pid_file = tmp_path / "grandchild.pid"
    launch = make_launch(argv=["sh", "-c", f"sleep 30 & echo $! > {pid_file}; echo bye"])
    result = run(ex, launch, timeout=5)
    assert result.is_success
    lines = log_lines(launch.log_path)
    assert "bye" in lines
    assert any("killed what the command left running in its process group" in line for line in lines)
    assert pid_gone(int(pid_file.read_text()))


def test_fileno_is_readable_exactly_when_results_wait(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    assert ex.poll(0) == []
    assert select.select([ex], [], [], 0)[0] == []
    launch = make_launch(argv=["true"])
    ex.submit(launch)
    assert select.select([ex], [], [], 10)[0] == [ex]
    assert [r.key for r in ex.poll(0)] == [launch.key]


def test_duplicate_key_and_bad_launches_are_rejected(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launch = make_launch(argv=["sleep", "100"])
    ex.submit(launch)
    with pytest.raises(ValueError, match="already running"):
        ex.submit(launch)
    ex.kill(launch.key)
    wait_for(ex, launch.key)
    with pytest.raises(ValueError, match="argv"):
        ex.submit(make_launch(argv=[]))
    with pytest.raises(ValueError, match="module:function"):
        ex.submit(make_launch("python", target="no_colon"))


def test_close_kills_running_attempts_and_returns_their_results(make_launch: MakeLaunch) -> None:
    executor = LocalExecutor(preload=[], kill_grace=0.5).start()
    launch = make_launch(argv=["sleep", "100"])
    pid = executor.submit(launch)
    server = psutil.Process(executor.server_pid)
    results = executor.close()
    assert [(r.key, r.killed, r.error) for r in results] == [(launch.key, True, "executor closed")]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not server.is_running()  # close() waited for it
    assert json.loads(Path(launch.result_path).read_text())["killed"] is True


def test_close_without_kill_lets_attempts_finish_in_the_background(make_launch: MakeLaunch) -> None:
    executor = LocalExecutor(preload=[]).start()
    launch = make_launch(argv=["sh", "-c", "sleep 0.3; echo done"])
    executor.submit(launch)
    server = psutil.Process(executor.server_pid)
    assert executor.close(kill_running=False) == []
    server.wait(timeout=10)
    on_disk = json.loads(Path(launch.result_path).read_text())
    assert on_disk["exit_code"] == 0 and not on_disk["killed"]


def test_large_output_is_logged_completely(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    # 200,000 lines (~2.6 MB) through a 64 KiB pipe; plus one line longer than the pipe buffer.
    script = "seq 1 200000; head -c 150000 /dev/zero | tr '\\0' x; echo"
    launch = make_launch(argv=["sh", "-c", script])
    result = run(ex, launch, timeout=30)
    assert result.is_success
    lines = log_lines(launch.log_path)[1:-1]
    assert lines[:3] == ["1", "2", "3"]
    assert lines[199999] == "200000"
    assert "".join(lines[200000:]) == "x" * 150000


def test_fan_out_of_concurrent_attempts_all_complete(ex: LocalExecutor, make_launch: MakeLaunch) -> None:
    launches = [make_launch(argv=["sh", "-c", f"echo '##shoal:set i={i}'"]) for i in range(40)]
    launches += [make_launch("python", target="targets:echo", payload={"i": i}) for i in range(20)]
    launches += [
        make_launch("python", target="targets:echo", payload={"i": i}, isolation="worker") for i in range(20)
    ]
    for launch in launches:
        ex.submit(launch)
    results: dict[str, Result] = {}
    while len(results) < len(launches):
        batch = ex.poll(20)
        assert batch, f"stalled with {len(launches) - len(results)} attempts outstanding"
        results.update((r.key, r) for r in batch)
    assert all(r.is_success for r in results.values())
    assert [results[launch.key].outputs["i"] for launch in launches[:40]] == [str(i) for i in range(40)]
    assert not ex.running()


def test_sigterm_to_the_executor_kills_and_records_its_attempts(make_launch: MakeLaunch) -> None:
    executor = LocalExecutor(preload=[], kill_grace=0.5).start()
    try:
        launch = make_launch(argv=["sleep", "100"])
        pid = executor.submit(launch)
        assert executor.server_pid is not None
        os.kill(executor.server_pid, signal.SIGTERM)
        result = wait_for(executor, launch.key)
        assert (result.killed, result.error) == (True, "executor terminated")
        assert pid_gone(pid)
        with pytest.raises(ExecutorDied, match="exited unexpectedly"):
            executor.poll(5)
    finally:
        executor.close()


def test_unwritable_log_and_result_paths_do_not_stop_the_attempt(
    ex: LocalExecutor, make_launch: MakeLaunch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    launch = make_launch(
        argv=["sh", "-c", "echo '##shoal:set ok=yes'"],
        log_path=str(blocker / "x.log"),
        result_path=str(blocker / "x.json"),
    )
    result = run(ex, launch)
    assert result.is_success and result.outputs == {"ok": "yes"}
    assert run(ex, make_launch(argv=["true"])).is_success  # the executor is fine


def test_tasks_never_inherit_the_metadata_database_url(
    make_launch: MakeLaunch, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The driver's environment holds the database's credentials; the executor it starts must not
    # hand them to anything it runs.
    monkeypatch.setenv("SHOAL_DB_URL", "postgresql+psycopg://shoal:s3cret-pw@db:5432/shoal")
    monkeypatch.setenv("SHOAL_ONLINE_STORE", "redis://:redis-pw@cache:6379/0")
    with LocalExecutor(workers=1) as executor:
        shell = make_launch(argv=["env"])
        python = make_launch("python", target="targets:whole_environment")
        assert run(executor, shell).is_success
        result = run(executor, python)
    text = Path(shell.log_path).read_text()
    assert "s3cret-pw" not in text and "redis-pw" not in text and "SHOAL_DB_URL" not in text
    assert result.is_success, result
    assert not {"SHOAL_DB_URL", "SHOAL_ONLINE_STORE"} & set(result.outputs["env"])
