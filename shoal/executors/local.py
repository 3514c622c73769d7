"""The local executor, driver side: a thin client of one executor server process.

`LocalExecutor.start()` launches `python -m shoal.executors._server` once, in its own session,
connected by two socket pairs:

- ctl: requests (submit / kill / close, pickled with a length prefix). `submit` waits for the
  one-line reply carrying the pid, which comes as soon as the process exists, never when the
  task ends.
- evt: one JSON line per finished attempt. Nothing else travels on it, so `fileno()` is readable
  exactly when `poll()` has something to return and the driver can `select` on it with its
  other sources (timers, a wake-up pipe, a database notification socket).

The server, not the driver, owns the task processes: if the driver dies, even by SIGKILL, the
server sees EOF on ctl, kills what is still running, writes every attempt's result file and
exits (see `_server.py`). The driver is single-threaded and this class is not thread-safe.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psutil

from shoal.config import SECRET_SETTINGS
from shoal.executors._attempt import recorded_pid
from shoal.executors._worker import EXECUTOR_NAME, frame
from shoal.executors.base import Attempt, ExecutorDied, Launch, Result, read_result

log = logging.getLogger(__name__)

# The task registry and the `python` type. Other task types' modules come in on first use
# (`Launch.warm`): a fork costs in proportion to the server's memory.
DEFAULT_PRELOAD = ["shoal.tasks.runtime"]
READ_SIZE = 1 << 16
ORPHAN_EXECUTOR_WAIT = 10.0  # how long to let a dead driver's executor finish writing results
RESTARTS = 3  # tries to start a new server after one died, before giving up


class LocalExecutor:
    """Runs attempts on this machine through a warm fork server.

    Args:
        preload: modules the server imports at start so forked tasks start warm; modules that fail
            to import are skipped with a warning. Default: `shoal.tasks.runtime` if importable.
            The modules a launch names in `warm` are imported later, once the server is idle.
        workers: size of the warm worker pool for `isolation="worker"` (started on first use).
        kill_grace: seconds between SIGTERM and SIGKILL when killing a process group.
    """

    def __init__(self, preload: list[str] | None = None, workers: int = 2, kill_grace: float = 2.0) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.preload = list(DEFAULT_PRELOAD if preload is None else preload)
        self._explicit_preload = preload is not None
        self.workers = workers
        self.kill_grace = kill_grace
        self.server_pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctl: socket.socket | None = None
        self._evt: socket.socket | None = None
        self._ctl_buf = bytearray()
        self._evt_buf = bytearray()
        self._poller = select.poll()
        self._running: dict[str, str] = {}  # attempt key -> its result file
        self._closing = self._closed = False

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the server process; returns once its preload is done and it accepts work."""
        if self._proc is not None:
            return self
        ctl_here, ctl_there = socket.socketpair()
        evt_here, evt_there = socket.socketpair()
        config = {
            "preload": self.preload,
            "explicit": self._explicit_preload,
            "workers": self.workers,
            "kill_grace": self.kill_grace,
        }
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "shoal.executors._server", str(ctl_there.fileno()),
                 str(evt_there.fileno()), json.dumps(config)],
                stdin=subprocess.DEVNULL, pass_fds=(ctl_there.fileno(), evt_there.fileno()),
                start_new_session=True,  # Ctrl-C in the driver's terminal must not reach tasks directly
                # Tasks inherit the server's environment: never the metadata database's credentials.
                env={k: v for k, v in os.environ.items() if k not in SECRET_SETTINGS},
            )  # fmt: skip
        finally:
            ctl_there.close()
            evt_there.close()
        self._ctl, self._evt = ctl_here, evt_here
        self._evt.setblocking(False)
        self._poller.register(self._evt, select.POLLIN)
        ready = self._read_reply()
        self.server_pid = int(ready["pid"])
        for module, why in ready.get("preload_failed", {}).items():
            log.warning("executor preload: skipped %s (%s)", module, why)
        return self

    def close(self, kill_running: bool = True) -> list[Result]:
        """Stop the server.

        With `kill_running`, attempts still running are killed (their results, `killed=True`,
        are returned and written to their result files). Without, the server finishes them in
        the background, writes their result files and exits on its own.
        """
        proc = self._proc
        if proc is None:
            return []
        results: list[Result] = []
        try:
            self._send({"op": "close", "kill": kill_running})
        except (OSError, ExecutorDied):  # already gone: nothing left to stop
            pass
        if kill_running:
            results = self._read_until_closed(time.monotonic() + self.kill_grace + 5.0)
            try:
                proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for sock in (self._ctl, self._evt):
            if sock is not None:
                sock.close()
        self._proc = self._ctl = self._evt = None
        self.server_pid = None
        self._poller = select.poll()
        self._running.clear()
        self._closing = self._closed = False
        return results

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- work ---------------------------------------------------------------------------------

    def submit(self, launch: Launch, *, wait: bool = True) -> int:
        """Start an attempt; return its pid once the process exists (the worker's pid for
        `isolation="worker"`).

        Returns 0 when the attempt did not start yet: it waits for a busy worker pool, or it
        failed to start, in which case its failed `Result` is already on its way to `poll`.
        With `wait=False` it returns 0 at once without waiting for the server's answer: the
        engine learns the pid from the `Result`, and the spawn overlaps its own work.
        """
        if launch.key in self._running:
            raise ValueError(f"attempt {launch.key!r} is already running")
        if launch.kind == "command":
            if not launch.argv:
                raise ValueError(f"attempt {launch.key!r}: a command launch needs a non-empty argv")
        elif launch.kind == "python":
            if not launch.target or ":" not in launch.target:
                raise ValueError(f"attempt {launch.key!r}: target must look like 'module:function'")
            if launch.isolation not in ("fork", "worker"):
                raise ValueError(f"attempt {launch.key!r}: unknown isolation {launch.isolation!r}")
        else:
            raise ValueError(f"attempt {launch.key!r}: unknown kind {launch.kind!r}")
        # vars(), not to_dict(): asdict deep-copies the payload, and pickling copies it anyway.
        self._send({"op": "submit", "launch": vars(launch), "reply": wait})
        pid = int(self._read_reply()["pid"]) if wait else 0
        self._running[launch.key] = launch.result_path
        return pid

    def poll(self, timeout: float | None = None) -> list[Result]:
        """Wait up to `timeout` seconds (None: forever) for finished attempts; return all there are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            results = self._read_results()
            if results:
                return results
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
            if not self._poller.poll(wait_ms) and deadline is not None and time.monotonic() >= deadline:
                return []

    def kill(self, key: str, reason: str = "killed") -> None:
        """Kill an attempt's process group (SIGTERM, SIGKILL after `kill_grace`); its Result,
        with `killed=True` and `reason` as its error, comes back through `poll`. Unknown or
        finished keys are ignored."""
        if key in self._running:
            self._send({"op": "kill", "key": key, "reason": reason})

    def running(self) -> set[str]:
        """Keys submitted whose Result `poll` has not returned yet."""
        return set(self._running)

    def is_running(self, key: str) -> bool:
        return key in self._running

    # --- what nobody is watching any more -----------------------------------------------------

    def recover(
        self, attempts: Sequence[Attempt], *, owner_gone: bool, keep_alive: Callable[[], None],
    ) -> list[Result]:
        """How attempts another driver started ended (see `Executor.recover`).

        Attempts another executor on this host ran are given time to end: that executor ends
        them and writes their results (a dead driver's executor does so and exits; a live driver
        that lost the run kills them when it notices). What is still running after
        `ORPHAN_EXECUTOR_WAIT` is killed by the pid its executor recorded, never by killing that
        executor, which may serve a live driver's other runs; only the executor of a driver
        known to be gone (`owner_gone`) that did not exit is killed whole.
        """
        todo = [a for a in attempts if a.key not in self._running]
        host = socket.gethostname()
        orphans = [a for a in todo if a.host == host and a.executor_pid and a.executor_pid != self.server_pid]
        if orphans:
            self._end_orphans(orphans, owner_gone, keep_alive)
        results = []
        for a in todo:
            results.append(read_result(a.result_path, a.key) or Result.driver_died(a.key))
        return results

    def _end_orphans(self, orphans: list[Attempt], owner_gone: bool, keep_alive: Callable[[], None]) -> None:
        def wait(seconds: float) -> bool:
            """Until every orphan has a result, or nobody is left to write one."""
            deadline = time.monotonic() + seconds
            while not all(os.path.exists(a.result_path) or not is_server(a.executor_pid or 0) for a in orphans):
                if time.monotonic() >= deadline:
                    return False
                keep_alive()
                time.sleep(0.05)
            return True

        wait(ORPHAN_EXECUTOR_WAIT)
        # No result yet: its executor is dead (nobody will end it) or did not end it in time.
        killed = [a for a in orphans if not os.path.exists(a.result_path) and kill_left_running(a.result_path)]
        for a in killed:
            log.warning("killed attempt %s, left running by another executor", a.key)
        if killed:
            wait(self.kill_grace + 1.0)  # for a live executor to write what became of them
        if owner_gone:
            for pid in {a.executor_pid for a in orphans}:
                if pid and is_server(pid):
                    log.warning("executor %s of a dead driver did not exit; killing it", pid)
                    kill_process_group(pid)

    def leftover(self, launch: Launch) -> Result | None:
        """A success of this attempt an earlier executor reported to nobody (see `Executor.leftover`)."""
        if launch.key in self._running:
            return None  # started here before a reload: followed, not killed nor started again
        kill_left_running(launch.result_path)  # started, not recorded, and its executor is gone
        path = Path(launch.result_path)
        if not path.exists():
            return None
        result = read_result(path, launch.key)
        if result is not None and result.is_success:
            return result
        path.unlink(missing_ok=True)
        return None

    def restart(self) -> list[Result]:
        """After `ExecutorDied`: kill what its attempts left running, return how each ended
        (`lost` unless it ended and wrote its result) and start a fresh server."""
        left = dict(self._running)
        self.close()
        results = []
        for key, path in sorted(left.items()):
            kill_left_running(path)
            result = read_result(path, key)
            if result is None:
                result = Result(key=key, exit_code=None, killed=True, lost=True,
                                error="lost: the executor process running this attempt died; "
                                      "killed what it left running")
            results.append(result)
        for tries_left in range(RESTARTS - 1, -1, -1):
            try:
                self.start()
                break
            except ExecutorDied as again:  # killed while starting too (an OOM killer at work)
                self.close()
                if not tries_left:
                    raise
                log.error("%s; starting another", again)
                time.sleep(0.5)
        return results

    def fileno(self) -> int:
        """A descriptor that is readable whenever `poll()` has results."""
        return self._connected()[1].fileno()

    # --- plumbing -----------------------------------------------------------------------------

    def _connected(self) -> tuple[socket.socket, socket.socket]:
        if self._ctl is None or self._evt is None:
            raise RuntimeError("the executor is not started: call start() first")
        return self._ctl, self._evt

    def _send(self, msg: dict[str, Any]) -> None:
        try:
            self._connected()[0].sendall(frame(msg))
        except (BrokenPipeError, ConnectionResetError):
            raise self._died() from None

    def _read_reply(self) -> dict[str, Any]:
        ctl = self._connected()[0]
        while (nl := self._ctl_buf.find(b"\n")) < 0:
            data = ctl.recv(READ_SIZE)
            if not data:
                raise self._died()
            self._ctl_buf += data
        reply: dict[str, Any] = json.loads(self._ctl_buf[:nl])
        del self._ctl_buf[: nl + 1]
        return reply

    def _read_results(self) -> list[Result]:
        """Parse what evt has; `self._closed` is set when the server said it is done."""
        evt = self._connected()[1]
        try:
            data = evt.recv(READ_SIZE)
        except BlockingIOError:
            data = None
        if data == b"":
            if self._closing:
                self._closed = True
                return []
            raise self._died()
        if data:
            self._evt_buf += data
        results = []
        cut = self._evt_buf.rfind(b"\n") + 1
        if cut:
            for line in bytes(self._evt_buf[:cut]).splitlines():
                msg = json.loads(line)
                if "key" not in msg:  # {"closed": true}
                    self._closed = True
                    continue
                result = Result.from_dict(msg)
                self._running.pop(result.key, None)
                results.append(result)
            del self._evt_buf[:cut]
        return results

    def _read_until_closed(self, deadline: float) -> list[Result]:
        results: list[Result] = []
        self._closing = True
        while not self._closed and time.monotonic() < deadline:
            try:
                results += self._read_results()
            except OSError:
                break
            if not self._closed:
                self._poller.poll(max(0, int((deadline - time.monotonic()) * 1000)))
        return results

    def _died(self) -> ExecutorDied:
        code = None
        if self._proc is not None:
            try:
                code = self._proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        running = ", ".join(sorted(self._running)) or "none"
        pid = self.server_pid or (self._proc.pid if self._proc is not None else None)  # dead while starting
        return ExecutorDied(
            f"the executor process (pid {pid}) exited unexpectedly (exit code {code}); "
            f"attempts in flight: {running}. Their processes may still be running.",
            exit_code=code,
        )


# --- what a dead executor left behind -----------------------------------------------------------


def is_server(pid: int) -> bool:
    """Is `pid` a live executor server (and not a process that got its pid since)?"""
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and proc.name() == EXECUTOR_NAME
    except psutil.Error:
        return False


def kill_process_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Kill the process group an attempt (or an executor server) leads: each runs in its own
    session, so its pid is the group id."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    except OSError:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


def kill_left_running(result_path: str) -> bool:
    """Kill what an attempt whose executor died left running: the process group the executor
    recorded when the attempt started (see `Attempt.open_files`), unless that pid now names a
    process started later. True if it killed something."""
    found = recorded_pid(result_path)
    if found is None:
        return False
    pid, recorded_at = found
    try:
        if psutil.Process(pid).create_time() > recorded_at + 0.5:
            return False  # the pid names a later process: the attempt's group is gone
    except psutil.NoSuchProcess:
        # The leader died (a python child dies with its executor) but what it started may
        # still run in its group; a pid that is still some group's id is never handed out
        # again, so the group can only be the attempt's.
        pass
    except psutil.Error:
        return False
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:  # nothing left in the group
        return False
    log.warning("killed process group %s, left running by the attempt of %s", pid, result_path)
    return True
