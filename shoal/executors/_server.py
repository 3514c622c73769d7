"""The executor process: starts task processes, streams their logs and reports how they ended.

Process model (one server per `LocalExecutor`)::

    driver ──ctl──▶ server ──spawn──▶ command                      (own session, one per attempt)
           ◀─evt──        ──fork───▶ spare fork child              (own session, one attempt)
                          ──fork───▶ warm workers (pool of N)      (own sessions, reused)

The server is single-threaded: one `selectors` loop watches the control socket, a self-pipe
woken by SIGCHLD/SIGTERM (`signal.set_wakeup_fd`), and every child's output pipe. It imports the
`preload` modules once at start, so python children begin warm.

The server imports more while it runs: the modules a python launch names in `warm` (its task
type's module), once its loop has nothing else to do, so that the next launches of that type
fork warm. Until a type is used, its libraries stay out of the server, and out of every fork.

Python attempts run in processes forked from the server *before* their launch is known: a fork
costs a millisecond or more (more with big preloads), so the server forks a spare single-use
child, and fills the worker pool, whenever its loop has nothing else to do. An `isolation="fork"`
launch is handed to the spare (which then exits after the call); a `"worker"` launch to an idle
pool worker (queued while all are busy). Either way the child reports the outcome on its output
pipe after the task's last output (see `_worker.py`), and the attempt ends with that marker.
A command attempt ends when its process has been reaped *and* its output pipe hit EOF, waiting
at most `EOF_GRACE` after the exit in case a grandchild keeps the pipe open; what still holds it
then (e.g. `sleep 300 &`) is killed with the attempt's process group, as Airflow does.

- ctl (driver → server): pickled, length-prefixed `{"op": "submit" | "kill" | "close", ...}`; a
  submit is answered on ctl with the JSON line `{"pid": n}` as soon as the process exists (0:
  queued for a worker, or failed to start).
- evt (server → driver): one JSON line per finished attempt (a `Result` dict), then
  `{"closed": true}` when the server exits on request. Sends never block: when the driver is
  not reading, results wait in `evt_out`.

What is written about each attempt (its log, outputs and Result) is `_attempt.py`'s job. The
Result is written to `result_path` (tmp + rename) before it is sent, so it survives a driver
crash. If the driver goes away (ctl EOF or reparenting), every attempt still running is
killed and recorded as `killed` with "driver exited"; attempts whose process had already exited
keep their true result.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import deque
from typing import Any

from shoal.executors import _worker
from shoal.executors._attempt import Attempt

EOF_GRACE = 1.0  # seconds to wait for an exited command's output pipe to close
PARENT_CHECK = 1.0  # seconds between checks that the driver is still our parent
SPARE_FORKS = 1  # single-use children kept forked ahead of `isolation="fork"` launches
READ_SIZE = 65536


class _Child:
    """A python process forked from the server: a pool worker, or a single-use spare."""

    __slots__ = ("attempt", "doomed", "once", "out_fd", "pid", "task_fd")

    def __init__(self, pid: int, task_fd: int, out_fd: int, once: bool) -> None:
        self.pid, self.task_fd, self.out_fd, self.once = pid, task_fd, out_fd, once
        self.attempt: Attempt | None = None
        self.doomed = False  # being killed or spent: never handed another task


class Server:
    """The executor process's state and event loop; `main()` runs one."""

    def __init__(self, ctl: socket.socket, evt: socket.socket, workers: int, kill_grace: float) -> None:
        self.ctl, self.evt = ctl, evt
        self.pool_size = max(1, workers)
        self.kill_grace = kill_grace
        self.marker = _worker.MARKER_PREFIX + os.urandom(8).hex().encode() + b" "
        self.sel = selectors.DefaultSelector()
        self.attempts: dict[str, Attempt] = {}
        self.by_pid: dict[int, Attempt | _Child] = {}
        self.pool: list[_Child] = []
        self.idle: list[_Child] = []
        self.spares: list[_Child] = []
        self.queue: deque[Attempt] = deque()  # worker launches waiting for an idle worker
        self.submitting: Attempt | None = None
        self.pool_used = self.fork_used = False  # nothing is pre-forked before it is first needed
        self.to_warm: dict[str, None] = {}  # modules launches asked for, to import when idle (in order)
        self.warmed: set[str] = set()
        self.prefork_after = 0.0
        self.pending_kills: dict[int, float] = {}  # pgid -> monotonic time of its SIGKILL
        self.ctl_buf = bytearray()
        self.evt_out = bytearray()
        self.closing: str | None = None  # "drain" (finish running work) or "kill"
        self.driver_gone = False
        self.parent = os.getppid()
        self.next_parent_check = time.monotonic() + PARENT_CHECK
        self.which: dict[tuple[str, str], str | None] = {}
        self.devnull = os.open(os.devnull, os.O_RDWR)
        self.sig_r, self.sig_w = os.pipe()
        os.set_blocking(self.sig_r, False)
        os.set_blocking(self.sig_w, False)
        # Python runs the handlers later; the C handler writes the signal number to sig_w at once.
        signal.set_wakeup_fd(self.sig_w, warn_on_full_buffer=False)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        ctl.setblocking(True)  # only read after select says so; replies are tiny
        evt.setblocking(False)
        self.sel.register(ctl, selectors.EVENT_READ, self._on_ctl)
        self.sel.register(self.sig_r, selectors.EVENT_READ, self._on_signal)
        self.own_fds = {ctl.fileno(), evt.fileno(), self.sig_r, self.sig_w, self.devnull, self.sel.fileno()}

    # --- loop ---------------------------------------------------------------------------------

    def run(self) -> None:
        while not (self.closing and not self.attempts and not self.queue):
            warm = bool(self.to_warm) and not self.closing
            prefork = warm or self._wants_prefork()
            events = self.sel.select(0 if prefork else self._timeout())
            if not events and warm:
                self._warm()  # nothing else to do: import what launches asked for, then fork
            elif not events and prefork:
                self._prefork()  # nothing else to do: pay for the next fork now, not on submit
            for key, _ in events:
                # An earlier callback of this batch may have closed (and even reused) this fd.
                if self.sel.get_map().get(key.fd) is key:
                    key.data(key.fd)
            self._tick()
        self._exit()

    def _wants_prefork(self) -> bool:
        if self.closing or time.monotonic() < self.prefork_after:
            return False
        return (self.fork_used and len(self.spares) < SPARE_FORKS) or (
            self.pool_used and len(self.pool) < self.pool_size
        )

    def _prefork(self) -> None:
        try:
            if self.fork_used and len(self.spares) < SPARE_FORKS:
                self.spares.append(self._fork_child(once=True))
                return
            child = self._fork_child(once=False)
        except OSError as exc:  # e.g. EAGAIN at the process limit: retry later, on demand meanwhile
            print(f"shoal executor: cannot fork ahead: {exc}", file=sys.stderr)
            self.prefork_after = time.monotonic() + PARENT_CHECK
            return
        self.pool.append(child)
        self.idle.append(child)
        self._dispatch_queued()

    def _want_warm(self, modules: list[str] | None) -> None:
        for name in modules or ():
            if name not in self.warmed and name not in sys.modules:
                self.to_warm[name] = None

    def _warm(self) -> None:
        name = next(iter(self.to_warm))
        del self.to_warm[name]
        self.warmed.add(name)
        # A module that fails to import here fails its tasks with the real error, in their logs.
        preload([name], explicit=False)
        gc.collect()
        gc.freeze()  # as after the start-up preload: forks do not copy the new heap page by page
        for spare in self.spares:  # forked before the import: let it go, a warm one replaces it
            spare.doomed = True
            self._close_fd(spare.task_fd)  # EOF: it exits without running anything
            spare.task_fd = -1
        self.spares.clear()

    def _timeout(self) -> float:
        now = time.monotonic()
        when = self.next_parent_check
        for att in self.attempts.values():
            if att.deadline is not None and att.reason is None and att.deadline < when:
                when = att.deadline
            if att.status is not None and att.exited_at + EOF_GRACE < when:
                when = att.exited_at + EOF_GRACE
        for at in self.pending_kills.values():
            when = min(when, at)
        return max(0.0, when - now)

    def _tick(self) -> None:
        now = time.monotonic()
        for att in list(self.attempts.values()):
            if att.deadline is not None and now >= att.deadline and att.reason is None:
                self._terminate(att, f"timed out after {float(att.launch['timeout'])}s", timed_out=True)
            if att.status is not None and not att.done and now >= att.exited_at + EOF_GRACE:
                if att.child is None and att.pid:
                    # The command exited but something it started still holds its output open:
                    # left running, it would be outside the capacity the attempt held. Its group
                    # cannot have been reused while those processes are in it.
                    _killpg(att.pid, signal.SIGKILL)
                    att.note(f"killed what the command left running in its process group after {EOF_GRACE}s")
                self._finish(att)
        for pgid, at in list(self.pending_kills.items()):
            if now >= at:
                del self.pending_kills[pgid]
                _killpg(pgid, signal.SIGKILL)
        if now >= self.next_parent_check:
            self.next_parent_check = now + PARENT_CHECK
            if os.getppid() != self.parent and not self.driver_gone:
                self._driver_exited()

    # --- driver requests ----------------------------------------------------------------------

    def _on_ctl(self, fd: int) -> None:
        try:
            data = self.ctl.recv(READ_SIZE)
        except OSError:
            data = b""
        if not data:
            self._driver_exited()
            return
        self.ctl_buf += data
        while (msg := _worker.unframe(self.ctl_buf)) is not None:
            op = msg["op"]
            if op == "submit":
                att = Attempt(msg["launch"], self.marker, self.own_fds)
                self.attempts[att.key] = att
                self.submitting = att
                self._start(att)
                self.submitting = None
                if msg.get("reply", True):
                    self.reply({"pid": att.pid})
                if att.pid:
                    att.open_files()  # after the reply: the driver need not wait for the disk
                self._want_warm(att.launch.get("warm"))
            elif op == "kill":
                if (doomed := self.attempts.get(msg["key"])) is not None:
                    self._terminate(doomed, msg.get("reason") or "killed")
            elif op == "close":
                if msg.get("kill", True):
                    self._shutdown("executor closed")
                else:
                    self.closing = self.closing or "drain"

    def reply(self, obj: dict[str, Any]) -> None:
        try:
            self.ctl.sendall(json.dumps(obj).encode() + b"\n")
        except OSError:
            pass  # the driver is gone; its EOF arrives next

    def _send_result(self, data: bytes) -> None:
        if self.driver_gone:
            return
        if not self.evt_out:
            try:
                sent = self.evt.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                return
            if sent == len(data):
                return
            data = data[sent:]
            self.sel.register(self.evt, selectors.EVENT_WRITE, self._on_evt_writable)
        self.evt_out += data

    def _on_evt_writable(self, fd: int) -> None:
        try:
            sent = self.evt.send(self.evt_out)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self.evt_out)
        del self.evt_out[:sent]
        if not self.evt_out:
            self.sel.unregister(self.evt)

    def _driver_exited(self) -> None:
        self.driver_gone = True
        if self.ctl.fileno() in self.sel.get_map():
            self.sel.unregister(self.ctl)
        if self.evt_out:
            self.evt_out.clear()
            self.sel.unregister(self.evt)
        if self.closing != "drain":
            self._shutdown("driver exited")

    def _shutdown(self, reason: str) -> None:
        self.closing = "kill"
        self._reap()  # an attempt whose process already exited keeps its true result
        while self.queue:
            att = self.queue.popleft()
            att.killed, att.reason = True, reason
            self._finish(att)
        for att in list(self.attempts.values()):
            self._terminate(att, reason)

    # --- starting -----------------------------------------------------------------------------

    def _start(self, att: Attempt) -> None:
        try:
            if att.launch["kind"] == "command":
                self._spawn_command(att)
            elif att.launch.get("isolation") == "worker":
                self.pool_used = True
                self.queue.append(att)
                self._dispatch_queued()
            else:
                self.fork_used = True
                try:
                    self._hand_over(self.spares.pop() if self.spares else self._fork_child(once=True), att)
                except BrokenPipeError:  # the spare died while waiting: fork a fresh one
                    self._hand_over(self._fork_child(once=True), att)
        except Exception as exc:  # noqa: BLE001 - report it as this attempt's failure, keep serving
            att.reason = f"failed to start: {exc}"
            self._finish(att)

    def _spawn_command(self, att: Attempt) -> None:
        launch = att.launch
        env = {**os.environ, **launch["env"]} if launch.get("env") else None
        argv = launch["argv"]
        r, w = os.pipe()
        try:
            proc = subprocess.Popen(
                argv, executable=self._which(argv[0], env), stdin=self.devnull, stdout=w, stderr=w,
                cwd=launch.get("cwd"), env=env, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        proc.returncode = 0  # we reap it with waitpid(-1); keep Popen from waiting or warning
        att.began(proc.pid)
        self.by_pid[proc.pid] = att
        os.set_blocking(r, False)
        att.out_fd = r
        self.own_fds.add(r)
        self.sel.register(r, selectors.EVENT_READ, lambda fd: self._on_output(att, fd))

    def _which(self, program: str, env: dict[str, str] | None) -> str | None:
        """`program` resolved on PATH, remembered: Popen otherwise searches PATH in Python
        on every spawn. None (let Popen search) when PATH has relative entries, which resolve
        against the task's cwd, not ours."""
        if "/" in program:
            return None
        path = (env if env is not None else os.environ).get("PATH", os.defpath)
        key = (program, path)
        found = self.which.get(key)
        if found is None and key not in self.which:
            dirs = path.split(os.pathsep)
            found = shutil.which(program, path=path) if all(os.path.isabs(d) for d in dirs) else None
            if len(self.which) < 1000:
                self.which[key] = found
        if found is not None and not os.access(found, os.X_OK):  # removed since: search again
            del self.which[key]
            return self._which(program, env)
        return found

    def _fork_child(self, once: bool) -> _Child:
        pid, task_fd, out_fd = _worker.fork_child(self.own_fds, self.marker, once)
        child = _Child(pid, task_fd, out_fd, once)
        os.set_blocking(out_fd, False)
        self.own_fds.update((task_fd, out_fd))
        self.sel.register(out_fd, selectors.EVENT_READ, lambda fd: self._on_child_output(child, fd))
        self.by_pid[pid] = child
        return child

    def _hand_over(self, child: _Child, att: Attempt) -> None:
        _worker.write_all(child.task_fd, _worker.frame(att.launch))
        child.attempt, att.child = att, child
        att.began(child.pid)

    def _dispatch_queued(self) -> None:
        while self.queue and self.closing != "kill":
            if not self.idle:
                if len(self.pool) >= self.pool_size:
                    return
                try:
                    child = self._fork_child(once=False)
                except OSError as exc:
                    if self.pool:
                        return  # a busy worker will take the queue when it is done
                    while self.queue:  # no worker at all: nothing would ever run them
                        att = self.queue.popleft()
                        att.reason = f"failed to start: cannot fork a worker: {exc}"
                        self._finish(att)
                    return
                self.pool.append(child)
                self.idle.append(child)
            worker = self.idle.pop()
            att = self.queue.popleft()
            try:
                self._hand_over(worker, att)
            except BrokenPipeError:  # it died while idle; its SIGCHLD takes it out of the pool
                worker.doomed = True
                self.queue.appendleft(att)
                continue
            if att is not self.submitting:  # that one's files are opened after the submit reply
                att.open_files()

    # --- output -------------------------------------------------------------------------------

    def _on_output(self, att: Attempt, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        if data:
            att.feed(data)
            return
        self._close_fd(fd)
        att.out_fd = -1
        att.eof = True
        if att.status is None:
            # It is exiting (or has exited): reaping it now saves waiting for SIGCHLD's wake-up.
            try:
                pid, status = os.waitpid(att.pid, os.WNOHANG)
            except ChildProcessError:
                pid = 0
            if pid:
                del self.by_pid[pid]
                att.status, att.exited_at = os.waitstatus_to_exitcode(status), time.monotonic()
        if att.status is not None:
            self._finish(att)

    def _on_child_output(self, child: _Child, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        att = child.attempt
        if not data:
            self._close_fd(fd)
            child.out_fd = -1
            if att is not None:
                att.eof = True
                if att.status is not None:
                    self._finish(att)
        elif att is not None and att.feed(data) and att.reason is None:
            self._finish(att)  # its outcome arrived (if being killed, its exit ends it instead)
        # else: output of a finished task's leftover background process; nobody to give it to

    # --- ending -------------------------------------------------------------------------------

    def _on_signal(self, fd: int) -> None:
        try:
            signums = os.read(fd, 512)
        except BlockingIOError:
            signums = b""
        self._reap()
        if (signal.SIGTERM in signums or signal.SIGINT in signums) and self.closing != "kill":
            self._shutdown("executor terminated")

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            owner = self.by_pid.pop(pid, None)
            if isinstance(owner, _Child):
                self._child_exited(owner, code)
            elif owner is not None:
                owner.status, owner.exited_at = code, time.monotonic()
                if owner.eof:
                    self._finish(owner)

    def _child_exited(self, child: _Child, code: int) -> None:
        for group in (self.pool, self.idle, self.spares):
            if child in group:
                group.remove(child)
        if child.once:
            # What the task started and left behind in its process group would run on outside
            # any capacity, as Airflow reaps a task's group: gone with the task. (A group that
            # still has members keeps its id, so this cannot reach a process that reused the pid.)
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass  # nothing left in it
        self._close_fd(child.task_fd)
        child.task_fd = -1
        att = child.attempt
        if att is not None:  # it died before reporting an outcome, or we killed it
            att.status, att.exited_at = code, time.monotonic()
            att.eof = child.out_fd < 0
            if att.eof:
                self._finish(att)
        else:
            self._close_fd(child.out_fd)
            child.out_fd = -1
        self._dispatch_queued()

    def _terminate(self, att: Attempt, reason: str, timed_out: bool = False) -> None:
        if att.done or att.reason is not None or att.status is not None:
            return  # already ending, or already exited: it keeps its true result
        att.reason = reason
        att.timed_out, att.killed = timed_out, not timed_out
        if not att.pid:  # queued for a worker, never started
            self.queue.remove(att)
            self._finish(att)
            return
        if att.child is not None and not att.child.once:
            # A worker's state after an interrupted task is unknown: kill it, a fresh one replaces it.
            att.child.doomed = True
            _killpg(att.pid, signal.SIGKILL)
            return
        _killpg(att.pid, signal.SIGTERM)
        self.pending_kills[att.pid] = time.monotonic() + self.kill_grace

    def _finish(self, att: Attempt) -> None:
        self.attempts.pop(att.key, None)
        if att.out_fd >= 0:
            self._close_fd(att.out_fd)
        self._send_result(att.end())
        if att.child is not None:
            self._release(att.child)

    def _release(self, child: _Child) -> None:
        child.attempt = None
        if child.once or child.doomed or child.pid not in self.by_pid:
            # Spent, dying or dead: its output after the outcome is not worth a descriptor.
            if child.out_fd >= 0:
                self._close_fd(child.out_fd)
                child.out_fd = -1
            if child.once:
                self._close_fd(child.task_fd)
                child.task_fd = -1
        elif self.closing != "kill":
            self.idle.append(child)
            self._dispatch_queued()

    def _close_fd(self, fd: int) -> None:
        if fd < 0:
            return
        if fd in self.sel.get_map():
            self.sel.unregister(fd)
        self.own_fds.discard(fd)
        os.close(fd)

    def crash(self, reason: str) -> None:
        """Last resort after an internal error: kill every process group, record every attempt."""
        for att in list(self.attempts.values()):
            if att.pid:
                _killpg(att.pid, signal.SIGKILL)
        for child in self.pool + self.spares:
            _killpg(child.pid, signal.SIGKILL)
        for att in list(self.attempts.values()):
            if not att.done:
                if att.status is None and att.outcome is None:
                    att.killed, att.reason = True, att.reason or reason
                try:
                    self._finish(att)
                except Exception:  # noqa: BLE001 - keep recording the others
                    traceback.print_exc()

    def _exit(self) -> None:
        for pgid in self.pending_kills:
            _killpg(pgid, signal.SIGKILL)
        children = [c for c in self.by_pid.values() if isinstance(c, _Child)]
        for child in children:
            _killpg(child.pid, signal.SIGKILL)
        for child in children:
            try:
                os.waitpid(child.pid, 0)
            except ChildProcessError:
                pass
        if not self.driver_gone:
            try:
                self.evt.setblocking(True)
                self.evt.sendall(bytes(self.evt_out) + b'{"closed": true}\n')
            except OSError:
                pass


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        # A child forked a moment ago may not have called setsid yet: its group is still ours.
        try:
            os.kill(pgid, sig)
        except ProcessLookupError:
            pass
    except PermissionError:
        pass


def preload(modules: list[str], explicit: bool) -> dict[str, str]:
    """Import `modules` so forked children start warm; return {module: why it failed}."""
    failed: dict[str, str] = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - a broken preload must not kill the executor
            if explicit or not (isinstance(exc, ModuleNotFoundError) and exc.name == name):
                failed[name] = f"{type(exc).__name__}: {exc}"
    return failed


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    ctl = socket.socket(fileno=int(args[0]))
    evt = socket.socket(fileno=int(args[1]))
    config = json.loads(args[2])
    _worker.set_process_name(_worker.EXECUTOR_NAME)
    failed = preload(config["preload"], config["explicit"])
    # Keep the preloaded heap out of the collector so forks do not copy it page by page.
    gc.collect()
    gc.freeze()
    server = Server(ctl, evt, config["workers"], config["kill_grace"])
    server.reply({"ready": True, "pid": os.getpid(), "preload_failed": failed})
    try:
        server.run()
    except BaseException as exc:
        # A bug here must not leave tasks running unsupervised in their own sessions.
        traceback.print_exc()
        server.crash(f"executor crashed: {type(exc).__name__}: {exc}")
        raise
    # Leave without interpreter finalization: the preloaded heap is frozen (gc.freeze), so tearing
    # it down is wasted work, and extension modules (DuckDB's nanobind) report its objects as leaks.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
