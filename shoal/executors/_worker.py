"""The python side of the executor: children forked from the server that run task targets.

`fork_child` forks the warm server (`_server.py`), so a child neither starts an interpreter nor
re-imports what the server preloaded. Every child runs `worker_main`, reading launches (pickled,
length-prefixed, see `frame`) from its task pipe:

- a *spare* (`once=True`, for `isolation="fork"`) is forked ahead of need, waits for a single
  launch, runs it and exits: the task gets a fresh copy of the warm server;
- a *warm worker* (`isolation="worker"`) runs launch after launch and restores os.environ, cwd
  and sys.path after each; modules a task imported stay imported, which is the point.

A child reports each call's outcome on the same pipe as the task's output: after flushing the
task's stdout/stderr it writes `marker + <json> + "\\n"`. Because the outcome travels on the
ordered output stream, no line the task printed can arrive after its completion. The marker
carries a random nonce chosen by the server, so task output cannot fake an outcome by accident.
The outcome is `{"outputs": {...}}` on success or `{"error": "...", "exit_code": n}`.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

from shoal.errors import TaskFailed

MARKER_PREFIX = b"\x1e##shoal-outcome:"
# Requests between our own processes (driver -> server -> child) are pickled and length-prefixed:
# a few times cheaper than JSON for a launch, and nothing else can write to these pipes.
FRAME = struct.Struct("!I")
_streams: tuple[io.TextIOWrapper, io.TextIOWrapper] | None = None  # made once, before any fork
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>
EXECUTOR_NAME = "shoal-executor"  # the server's process name: how a driver tells it from a reused pid


def _load_prctl() -> Any:
    """libc's prctl, looked up once in the server (not after every fork); None off Linux."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _load_prctl()


def frame(msg: Any) -> bytes:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(len(data)) + data


def unframe(buf: bytearray) -> Any | None:
    """Pop one framed message off the front of `buf`; None if it is not all there yet."""
    if len(buf) < FRAME.size:
        return None
    end = FRAME.size + FRAME.unpack_from(buf)[0]
    if len(buf) < end:
        return None
    msg = pickle.loads(buf[FRAME.size : end])
    del buf[:end]
    return msg


def _read_frames(fd: int) -> Iterator[Any]:
    tasks = open(fd, "rb", closefd=False)  # noqa: SIM115 - lives as long as the process
    while len(header := tasks.read(FRAME.size)) == FRAME.size:
        yield pickle.loads(tasks.read(FRAME.unpack(header)[0]))


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
            # No NaN/Infinity: they are not JSON, and PostgreSQL's JSON columns reject them.
            encoded = json.dumps(returned, allow_nan=False)
        except ValueError as exc:
            if "Out of range float" not in str(exc):
                raise TaskFailed(f"{target} returned outputs that are not JSON-serialisable: {exc}") from None
            raise TaskFailed(
                f"{target} returned NaN or Infinity in its outputs, which JSON cannot hold; "
                "return None or a string instead"
            ) from None
        except TypeError as exc:
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
    # Not the server's command line: a task that parses sys.argv must not see executor plumbing.
    sys.argv = [launch.get("target") or ""]
    if launch.get("env"):
        os.environ.update(launch["env"])
    if launch.get("sys_path"):
        sys.path[:0] = launch["sys_path"]
    if launch.get("cwd"):
        os.chdir(launch["cwd"])


def fork_child(close_fds: Iterable[int], marker: bytes, once: bool) -> tuple[int, int, int]:
    """Fork a child of the server that runs `worker_main`.

    Returns (pid, write end of its task pipe, read end of its output pipe). The child gets its
    own session (so its whole process group can be killed), default signal handlers, none of
    the server's descriptors (`close_fds`), and the output pipe as fds 1 and 2.
    """
    global _streams
    if _streams is None:
        # Built in the server and inherited: cheaper than building them after every fork.
        _streams = _std_streams()
    task_r, task_w = os.pipe()
    out_r, out_w = os.pipe()
    server = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: never returns from this branch
        code = 70
        try:
            os.setsid()
            _die_with(server)
            # The server's ends of this child's own pipes: held here, the task pipe would never
            # reach EOF when the server goes away.
            os.close(task_w)
            os.close(out_r)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            for fd in close_fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            os.dup2(out_w, 1)
            os.dup2(out_w, 2)
            set_process_name("shoal-fork" if once else "shoal-worker")
            code = worker_main(task_r, out_w, marker, once=once)
        except BaseException:  # noqa: BLE001 - whatever happens, never return into the server's code
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(task_r)
    os.close(out_w)
    return pid, task_w, out_r


def _die_with(server: int) -> None:
    """Ask the kernel to SIGKILL this child when the server dies, even by SIGKILL: a python
    attempt must not run on unsupervised, outside any capacity, while the next driver retries it.
    (Commands cannot get this without slowing every spawn; the next driver kills those by the
    pid their result file records.)"""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != server:  # it died before the request took effect
        os._exit(70)


def set_process_name(name: str) -> None:
    """Name this process in `ps -o comm` / `top` (its command line stays the server's)."""
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass  # not Linux: cosmetic only


def worker_main(task_fd: int, out_fd: int, marker: bytes, once: bool = False) -> int:
    """Loop of a forked child: one launch per JSON line on `task_fd`, until EOF.

    With `once` (a spare fork child) it runs a single launch and returns its exit code, with no
    need to restore anything; otherwise (a warm worker) it restores os.environ, cwd and sys.path
    after every task and returns 0 when the server closes the pipe.
    """
    stdout, stderr = _streams or _std_streams()
    base_environ = dict(os.environ) if not once else {}
    base_cwd = os.getcwd() if not once else ""
    base_path = list(sys.path)
    # Only a warm worker outlives its task; a spare fork child need not index sys.modules.
    code_files = _CodeFiles() if not once else None
    for launch in _read_frames(task_fd):
        if code_files is not None:
            code_files.forget_stale(launch.get("sys_path") or [])
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
        if code_files is None:
            return code
        code_files.track(launch.get("sys_path") or [])
        _restore(base_environ, base_cwd, base_path)
        sys.stdout, sys.stderr = stdout, stderr
    return 0


class _CodeFiles:
    """The workflow's own modules a warm worker imported, so an edit to one is not missed.

    Tasks import the user's code from their workflow's directories (the launch's `sys_path`).
    A warm worker keeps modules imported, which is its point, but two things make a kept module
    wrong for the next task: the user edited its file, or the next task imports from other
    directories (a workflow applied elsewhere), where the same module name may mean another
    file (every workflow may have its own `tasks.py`). So the worker records the file and
    modification time of each module imported from those directories, and before each task, if
    its directories differ or any file changed (or vanished), drops all of them from
    `sys.modules`: the task imports them afresh. All, not just the stale ones, because a kept
    module holds what it imported from the others. Modules imported before the worker forked (shoal, the preload) and
    third-party packages are never tracked, so this costs one `stat` per user module per task.
    """

    def __init__(self) -> None:
        self.preloaded = set(sys.modules)
        self.files: dict[str, tuple[str, float]] = {}  # module name -> (file, mtime when seen)
        self.dirs: list[str] = []  # the sys_path they were imported under
        self.seen = len(sys.modules)

    def track(self, dirs: list[str]) -> None:
        if len(sys.modules) == self.seen or not dirs:
            return
        self.seen = len(sys.modules)
        self.dirs = dirs
        roots = tuple(os.path.join(os.path.abspath(d), "") for d in dirs)
        for name, module in list(sys.modules.items()):
            if name in self.preloaded or name in self.files:
                continue
            path = getattr(module, "__file__", None)
            if not path or not path.startswith(roots) or f"{os.sep}site-packages{os.sep}" in path:
                continue
            try:
                self.files[name] = (path, os.stat(path).st_mtime)
            except OSError:
                continue

    def forget_stale(self, dirs: list[str]) -> None:
        """Before a task whose code lives in `dirs`: drop the tracked modules if any is stale."""
        if not self.files:
            return
        if dirs == self.dirs and all(_unchanged(path, mtime) for path, mtime in self.files.values()):
            return
        for name in self.files:
            sys.modules.pop(name, None)
        self.files.clear()
        self.seen = -1  # re-track whatever the next task imports
        importlib.invalidate_caches()


def _unchanged(path: str, mtime: float) -> bool:
    try:
        return os.stat(path).st_mtime == mtime
    except OSError:
        return False


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
