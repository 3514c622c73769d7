"""Running a python task inside a process forked from the executor server.

Two kinds of process run python targets, both forked from the warm server (`_server.py`), so
neither starts an interpreter nor re-imports what the server preloaded:

- a *fork child* runs exactly one call (`run_forked`) and exits;
- a *warm worker* (`worker_main`) is a long-lived process that reads launches, one JSON line at
  a time, from a pipe, runs each call and restores os.environ / cwd / sys.path afterwards.

Both report a call's outcome on the same pipe as the task's output: after flushing the task's
stdout/stderr they write `MARKER + <json> + "\\n"`. Because the outcome travels on the ordered
output stream, no line the task printed can arrive after its completion. The marker carries a
random nonce chosen by the server, so task output cannot fake an outcome by accident.
The outcome is `{"outputs": {...}}` on success or `{"error": "...", "exit_code": n}`.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import sys
import traceback
from typing import Any

from shoal.errors import TaskFailed

MARKER_PREFIX = b"\x1e##shoal-outcome:"


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _std_streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper]:
    # Line buffered so `shoal logs -f` shows output while the task runs; fds 1 and 2 are whatever
    # the pipe is at the moment, so these wrappers survive the per-task dup2 of a worker.
    out = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    err = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    return out, err


def _load(target: str) -> Any:
    module_name, sep, func_name = target.partition(":")
    if not sep or not module_name or not func_name:
        raise TaskFailed(f"target {target!r} must look like 'package.module:function'")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in func_name.split("."):
        obj = getattr(obj, part)
    return obj


def call_target(launch: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Import and call the launch's target here; return (outcome, exit code).

    Tracebacks go to stderr, i.e. into the task's log; `TaskFailed` prints only its message.
    """
    target = launch.get("target") or ""
    try:
        fn = _load(target)
        returned = fn(launch.get("payload") or {})
        if returned is None:
            returned = {}
        if not isinstance(returned, dict):
            raise TaskFailed(
                f"{target} returned {type(returned).__name__}; a python task must return a dict of outputs"
            )
        try:
            # Checked here, in the task's process, so the failure names the task's own mistake.
            encoded = json.dumps(returned)
        except (TypeError, ValueError) as exc:
            raise TaskFailed(f"{target} returned outputs that are not JSON-serialisable: {exc}") from None
        return {"outputs_json": encoded}, 0
    except TaskFailed as exc:
        print(f"task failed: {exc}", file=sys.stderr)
        return {"error": str(exc), "exit_code": 1}, 1
    except SystemExit as exc:
        code = exc.code
        if code is None or code == 0:
            return {"outputs_json": "{}"}, 0
        if isinstance(code, int):
            return {"error": f"exit code {code}", "exit_code": code}, code
        print(code, file=sys.stderr)
        return {"error": str(code), "exit_code": 1}, 1
    except BaseException as exc:  # noqa: BLE001 - a worker must survive anything its task raises
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}", "exit_code": 1}, 1


def _report(out_fd: int, marker: bytes, outcome: dict[str, Any]) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass  # the task closed or replaced the stream; its output is already gone
    encoded = outcome.pop("outputs_json", None)
    body = json.dumps(outcome)
    if encoded is not None:
        # Splice the already-encoded outputs in rather than encoding them twice.
        body = body[:-1] + (", " if outcome else "") + '"outputs": ' + encoded + "}"
    write_all(out_fd, marker + body.encode() + b"\n")


def _apply(launch: dict[str, Any]) -> None:
    if launch.get("env"):
        os.environ.update(launch["env"])
    if launch.get("sys_path"):
        sys.path[:0] = launch["sys_path"]
    if launch.get("cwd"):
        os.chdir(launch["cwd"])


def worker_main(task_fd: int, out_fd: int, marker: bytes, once: bool = False) -> int:
    """Loop of a forked child: one launch per JSON line on `task_fd`, until EOF.

    With `once` (a spare fork child) it runs a single launch and returns its exit code, with no
    need to restore anything; otherwise (a warm worker) it restores os.environ, cwd and sys.path
    after every task and returns 0 when the server closes the pipe.
    """
    stdout, stderr = _std_streams()
    base_environ = dict(os.environ) if not once else {}
    base_cwd = os.getcwd() if not once else ""
    base_path = list(sys.path)
    tasks = io.open(task_fd, "rb", closefd=False)
    for line in tasks:
        launch = json.loads(line)
        # Re-point fds 1/2 every time: a previous task may have redirected or closed them.
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        sys.stdout, sys.stderr = stdout, stderr
        try:
            _apply(launch)
        except OSError as exc:
            outcome: dict[str, Any] = {"error": f"cannot enter cwd: {exc}", "exit_code": 1}
            code = 1
            print(outcome["error"], file=sys.stderr)
        else:
            outcome, code = call_target(launch)
        _report(out_fd, marker, outcome)
        if once:
            return code
        _restore(base_environ, base_cwd, base_path)
        sys.stdout, sys.stderr = stdout, stderr
    return 0


def _restore(environ: dict[str, str], cwd: str, path: list[str]) -> None:
    if os.environ != environ:
        for name in [n for n in os.environ if n not in environ]:
            del os.environ[name]
        for name, value in environ.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
    if sys.path != path:
        sys.path[:] = path
    try:
        if os.getcwd() != cwd:
            os.chdir(cwd)
    except OSError:  # the task deleted its cwd
        os.chdir(cwd)
