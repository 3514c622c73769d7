"""The in-process executor: attempts run inside the calling process, one after another.

`submit` queues a launch; `poll` runs every queued launch to its end, right there, and returns
their results. Nothing waits unless asked to: a test steps the engine (`Driver.step`) and each step runs what
the previous one started, so trigger rules, retries, failure strategies and backfill gates are
tested with no subprocess and no sleep. Set `hold` to keep submitted attempts running (not run
by `poll`) for as long as a test wants to look at them, stop their run, or kill them.

Python launches call their target in this process, with the launch's environment, `sys.path`
and working directory in place for the call and restored after it, and its output written to
the attempt's log. Command launches are spawned (`subprocess.run`), since a command is a
process: tests of the rules use python tasks. A launch's `timeout` is enforced for commands
only; a python call cannot be interrupted from inside the process that runs it.

Attempts never outlive the process, so there is nothing for another driver to take over:
`recover` reads whatever result files exist (each attempt writes one, as `LocalExecutor`'s do)
and reports the rest lost.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from typing import Any

from shoal.executors._attempt import SET_RE, _masked
from shoal.executors._worker import call_target
from shoal.executors.base import Attempt, Launch, Result, read_result


class InlineExecutor:
    """Runs attempts in this process when polled (see the module docstring)."""

    kill_grace = 0.0
    server_pid: int | None = None  # attempts die with this process: none is ever an orphan

    def __init__(self) -> None:
        self.hold = False
        self._queued: dict[str, Launch] = {}
        self._done: list[Result] = []
        self.launches: list[Launch] = []  # every launch submitted, for tests to look at

    def start(self) -> InlineExecutor:
        return self

    def close(self, kill_running: bool = True) -> list[Result]:
        results = []
        if kill_running:
            for key in list(self._queued):
                self.kill(key, "killed: the executor closed")
            results = self._done
            self._done = []
        return results

    def submit(self, launch: Launch, *, wait: bool = True) -> int:
        if self.is_running(launch.key):
            raise ValueError(f"attempt {launch.key!r} is already running")
        if launch.kind not in ("command", "python"):
            raise ValueError(f"attempt {launch.key!r}: unknown kind {launch.kind!r}")
        self._queued[launch.key] = launch
        self.launches.append(launch)
        return 0

    def poll(self, timeout: float | None = None) -> list[Result]:
        """Run what is queued (unless `hold`) and return every result there is. With none, it
        waits out `timeout` as asked (nothing can end meanwhile): a test stepping the engine
        passes 0, a `Driver.drive` loop is kept from spinning. None does not wait."""
        if not self.hold:
            while self._queued:
                key = next(iter(self._queued))
                self._done.append(self._run(self._queued.pop(key)))
        done, self._done = self._done, []
        if not done and timeout:
            time.sleep(timeout)
        return done

    def kill(self, key: str, reason: str = "killed") -> None:
        launch = self._queued.pop(key, None)
        if launch is not None:  # not run yet: it ends killed, as a process killed at once would
            now = time.time()
            result = Result(key=key, exit_code=None, killed=True, error=reason, started_at=now, ended_at=now)
            _write_result(launch, result)
            self._done.append(result)

    def running(self) -> set[str]:
        return set(self._queued) | {r.key for r in self._done}

    def is_running(self, key: str) -> bool:
        return key in self._queued or any(r.key == key for r in self._done)

    def recover(
        self, attempts: Sequence[Attempt], *, owner_gone: bool, keep_alive: Callable[[], None],
    ) -> list[Result]:
        results = []
        for a in attempts:
            if self.is_running(a.key):
                continue
            results.append(read_result(a.result_path, a.key) or Result.driver_died(a.key))
        return results

    def leftover(self, launch: Launch) -> Result | None:
        if self.is_running(launch.key):
            return None
        result = read_result(launch.result_path, launch.key)
        if result is not None and result.is_success:
            return result
        if os.path.exists(launch.result_path):
            os.unlink(launch.result_path)
        return None

    def restart(self) -> list[Result]:
        return []  # it cannot die without its caller

    # --- running one attempt ------------------------------------------------------------------

    def _run(self, launch: Launch) -> Result:
        started = time.time()
        if launch.kind == "python":
            output, outcome, code = _call(launch)
            outputs = _set_lines(output)
            if "outputs" in outcome:
                outputs.update(outcome["outputs"])
            result = Result(key=launch.key, exit_code=code, outputs=outputs, error=outcome.get("error"))
        else:
            output, result = _spawn(launch)
        result.started_at, result.ended_at = started, time.time()
        _write_log(launch, output, result)
        _write_result(launch, result)
        return result


def _call(launch: Launch) -> tuple[str, dict[str, Any], int]:
    """Call a python launch's target here; its output, its outcome (as `call_target` says) and
    its exit code. What the launch changes about the process is put back afterwards."""
    environ, cwd, path, argv = dict(os.environ), os.getcwd(), list(sys.path), list(sys.argv)
    out = io.StringIO()
    try:
        os.environ.update(launch.env)
        sys.path[:0] = launch.sys_path
        if launch.cwd:
            os.chdir(launch.cwd)
        with redirect_stdout(out), redirect_stderr(out):
            outcome, code = call_target(vars(launch))
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:], sys.argv[:] = path, argv
        os.chdir(cwd)
    if "outputs_json" in outcome:
        outcome["outputs"] = json.loads(outcome.pop("outputs_json"))
    return out.getvalue(), outcome, code


def _spawn(launch: Launch) -> tuple[str, Result]:
    try:
        proc = subprocess.run(
            launch.argv or [], cwd=launch.cwd, env={**os.environ, **launch.env}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=launch.timeout, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output.decode(errors="replace") if exc.output else ""
        return output, Result(key=launch.key, exit_code=None, timed_out=True,
                              error=f"timed out after {launch.timeout:g}s")
    except OSError as exc:
        return "", Result(key=launch.key, exit_code=127, error=f"cannot start {launch.argv!r}: {exc}")
    output = proc.stdout.decode(errors="replace")
    error = None if proc.returncode == 0 else f"exit code {proc.returncode}"
    return output, Result(key=launch.key, exit_code=proc.returncode, outputs=_set_lines(output), error=error)


def _set_lines(output: str) -> dict[str, Any]:
    """`##shoal:set key=value` lines, later ones winning."""
    found = {}
    for line in output.splitlines():
        if "##shoal:set" in line and (m := SET_RE.fullmatch(line.strip())):
            found[m.group(1)] = m.group(2)
    return found


def _write_log(launch: Launch, output: str, result: Result) -> None:
    stamp = datetime.now().isoformat(sep=" ", timespec="milliseconds")
    lines = [f"shoal: start {launch.key} (in-process)", *output.splitlines()]
    tail = f": {result.error}" if result.error else ""
    lines.append(f"shoal: end {launch.key}: exit code {result.exit_code}{tail}")
    os.makedirs(os.path.dirname(launch.log_path) or ".", mode=0o700, exist_ok=True)
    with open(launch.log_path, "a", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:
        f.writelines(f"[{stamp}] {_masked(line, launch.mask)}\n" for line in lines)


def _write_result(launch: Launch, result: Result) -> None:
    os.makedirs(os.path.dirname(launch.result_path) or ".", mode=0o700, exist_ok=True)
    tmp = f"{launch.result_path}.tmp"
    with open(tmp, "w", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:
        json.dump(result.to_dict(), f)
    os.replace(tmp, launch.result_path)  # readers see no result or the whole of it


__all__ = ["InlineExecutor"]
