"""The executor process: starts task processes, streams their logs and reports how they ended.

Process model (one server per `LocalExecutor`)::

    driver ──ctl──▶ server ──spawn──▶ command                      (own session, one per attempt)
           ◀─evt──        ──fork───▶ spare fork child              (own session, one attempt)
                          ──fork───▶ warm workers (pool of N)      (own sessions, reused)

The server is single-threaded: one `selectors` loop watches the control socket, a self-pipe
woken by SIGCHLD/SIGTERM (`signal.set_wakeup_fd`), and every child's output pipe. It imports the
`preload` modules once at start, so python children begin warm.

Python attempts run in processes forked from the server *before* their launch is known: a fork
costs a millisecond or more (more with big preloads), so the server forks a spare single-use
child, and fills the worker pool, whenever its loop has nothing else to do. An `isolation="fork"`
launch is handed to the spare (which then exits after the call); a `"worker"` launch to an idle
pool worker (queued while all are busy). Either way the child reports the outcome on its output
pipe after the task's last output (see `_worker.py`), and the attempt ends with that marker.
A command attempt ends when its process has been reaped *and* its output pipe hit EOF, waiting
at most `EOF_GRACE` after the exit in case a grandchild keeps the pipe open.

- ctl (driver → server): JSON lines `{"op": "submit" | "kill" | "close", ...}`; a submit is answered
  on ctl with `{"pid": n}` as soon as the process exists (0: queued for a worker, or failed).
- evt (server → driver): one JSON line per finished attempt (a `Result` dict), then
  `{"closed": true}` when the server exits on request. Sends never block: when the driver is
  not reading, results wait in `evt_out`.

The `Result` is written to `result_path` (tmp + rename) before it is sent, so it survives a
driver crash. If the driver goes away (ctl EOF or reparenting), every attempt still running is
killed and recorded as `killed` with "driver exited"; attempts whose process had already exited
keep their true result.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import re
import selectors
import shlex
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections import deque
from typing import Any, BinaryIO

from shoal.executors import _worker

EOF_GRACE = 1.0  # seconds to wait for an exited command's output pipe to close
PARENT_CHECK = 1.0  # seconds between checks that the driver is still our parent
SPARE_FORKS = 1  # single-use children kept forked ahead of `isolation="fork"` launches
READ_SIZE = 65536
MAX_LINE = 65536  # a longer line without newline is logged in pieces
SET_RE = re.compile(r"##shoal:set ([A-Za-z_][A-Za-z0-9_]*)=(.*)")


class _Child:
    """A python process forked from the server: a pool worker, or a single-use spare."""

    __slots__ = ("pid", "task_fd", "out_fd", "once", "attempt", "doomed")

    def __init__(self, pid: int, task_fd: int, out_fd: int, once: bool) -> None:
        self.pid, self.task_fd, self.out_fd, self.once = pid, task_fd, out_fd, once
        self.attempt: _Attempt | None = None
        self.doomed = False  # being killed or spent: never handed another task


class _Attempt:
    __slots__ = (
        "key", "launch", "pid", "out_fd", "child", "buf", "log", "outputs", "outcome", "status",
        "exited_at", "eof", "started_at", "started_mono", "deadline", "timed_out", "killed",
        "reason", "done", "result_tmp",
    )  # fmt: skip

    def __init__(self, launch: dict[str, Any]) -> None:
        self.key: str = launch["key"]
        self.launch = launch
        self.pid = 0
        self.out_fd = -1  # a command's output pipe (python children own theirs)
        self.child: _Child | None = None
        self.buf = bytearray()
        self.log: BinaryIO | None = None
        self.outputs: dict[str, Any] = {}
        self.outcome: dict[str, Any] | None = None  # a python call's marker payload
        self.status: int | None = None  # exit code once reaped (-signum if signalled)
        self.exited_at = 0.0
        self.eof = False
        self.started_at = time.time()
        self.started_mono = time.monotonic()
        self.deadline: float | None = None
        self.timed_out = self.killed = self.done = False
        self.reason: str | None = None  # why we signalled it (or why it could not start)
        self.result_tmp: BinaryIO | None = None  # created early, filled and renamed at the end


class _LogStamp:
    """`[2026-11-23 09:00:00.123] `, with strftime run once per second rather than per line."""

    def __init__(self) -> None:
        self.sec, self.base = -1, ""

    def __call__(self) -> str:
        now = time.time()
        sec = int(now)
        if sec != self.sec:
            self.sec, self.base = sec, time.strftime("[%Y-%m-%d %H:%M:%S", time.localtime(sec))
        return f"{self.base}.{int((now - sec) * 1000):03d}] "


class Server:
    def __init__(self, ctl: socket.socket, evt: socket.socket, workers: int, kill_grace: float) -> None:
        self.ctl, self.evt = ctl, evt
        self.pool_size = max(1, workers)
        self.kill_grace = kill_grace
        self.marker = _worker.MARKER_PREFIX + os.urandom(8).hex().encode() + b" "
        self.sel = selectors.DefaultSelector()
        self.attempts: dict[str, _Attempt] = {}
        self.by_pid: dict[int, _Attempt | _Child] = {}
        self.pool: list[_Child] = []
        self.idle: list[_Child] = []
        self.spares: list[_Child] = []
        self.queue: deque[_Attempt] = deque()  # worker launches waiting for an idle worker
        self.submitting: _Attempt | None = None
        self.pool_used = self.fork_used = False  # nothing is pre-forked before it is first needed
        self.pending_kills: dict[int, float] = {}  # pgid -> monotonic time of its SIGKILL
        self.ctl_buf = bytearray()
        self.evt_out = bytearray()
        self.closing: str | None = None  # "drain" (finish running work) or "kill"
        self.driver_gone = False
        self.parent = os.getppid()
        self.next_parent_check = time.monotonic() + PARENT_CHECK
        self.dirs: set[str] = set()
        self.stamp = _LogStamp()
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
            prefork = self._wants_prefork()
            events = self.sel.select(0 if prefork else self._timeout())
            if not events and prefork:
                self._prefork()  # nothing else to do: pay for the next fork now, not on submit
            for key, _ in events:
                # An earlier callback of this batch may have closed (and even reused) this fd.
                if self.sel.get_map().get(key.fd) is key:
                    key.data(key.fd)
            self._tick()
        self._exit()

    def _wants_prefork(self) -> bool:
        if self.closing:
            return False
        return (self.fork_used and len(self.spares) < SPARE_FORKS) or (
            self.pool_used and len(self.pool) < self.pool_size
        )

    def _prefork(self) -> None:
        if self.fork_used and len(self.spares) < SPARE_FORKS:
            self.spares.append(self._fork_child(once=True))
        else:
            child = self._fork_child(once=False)
            self.pool.append(child)
            self.idle.append(child)
            self._dispatch_queued()

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
        while (nl := self.ctl_buf.find(b"\n")) >= 0:
            msg = json.loads(self.ctl_buf[:nl])
            del self.ctl_buf[: nl + 1]
            op = msg["op"]
            if op == "submit":
                att = _Attempt(msg["launch"])
                self.attempts[att.key] = att
                self.submitting = att
                self._start(att)
                self.submitting = None
                self.reply({"pid": att.pid})
                if att.pid:
                    self._open_files(att)  # after the reply: the driver need not wait for the disk
            elif op == "kill":
                if (att := self.attempts.get(msg["key"])) is not None:
                    self._terminate(att, "killed")
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

    def _start(self, att: _Attempt) -> None:
        try:
            if att.launch["kind"] == "command":
                self._spawn_command(att)
            elif att.launch.get("isolation") == "worker":
                self.pool_used = True
                self.queue.append(att)
                self._dispatch_queued()
            else:
                self.fork_used = True
                spare = self.spares.pop() if self.spares else self._fork_child(once=True)
                self._hand_over(spare, att)
        except Exception as exc:  # noqa: BLE001 - report it as this attempt's failure, keep serving
            att.reason = f"failed to start: {exc}"
            self._finish(att)

    def _began(self, att: _Attempt, pid: int) -> None:
        att.pid = pid
        att.started_at, att.started_mono = time.time(), time.monotonic()
        if att.launch.get("timeout") is not None:
            att.deadline = att.started_mono + float(att.launch["timeout"])

    def _spawn_command(self, att: _Attempt) -> None:
        launch = att.launch
        env = {**os.environ, **launch["env"]} if launch.get("env") else None
        r, w = os.pipe()
        try:
            proc = subprocess.Popen(
                launch["argv"], stdin=self.devnull, stdout=w, stderr=w, cwd=launch.get("cwd"),
                env=env, start_new_session=True,
            )  # fmt: skip
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(w)
        proc.returncode = 0  # we reap it with waitpid(-1); keep Popen from waiting or warning
        self._began(att, proc.pid)
        self.by_pid[proc.pid] = att
        os.set_blocking(r, False)
        att.out_fd = r
        self.own_fds.add(r)
        self.sel.register(r, selectors.EVENT_READ, lambda fd: self._on_output(att, fd))

    def _fork_child(self, once: bool) -> _Child:
        task_r, task_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child never returns from this branch
            code = 70
            try:
                self._become_child(out_w, task_r)
                code = _worker.worker_main(task_r, out_w, self.marker, once=once)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(task_r)
        os.close(out_w)
        child = _Child(pid, task_w, out_r, once)
        os.set_blocking(out_r, False)
        self.own_fds.update((task_w, out_r))
        self.sel.register(out_r, selectors.EVENT_READ, lambda fd: self._on_child_output(child, fd))
        self.by_pid[pid] = child
        return child

    def _become_child(self, out_fd: int, task_fd: int) -> None:
        """In a freshly forked child: own session, default signals, none of the server's fds."""
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for fd in self.own_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)

    def _hand_over(self, child: _Child, att: _Attempt) -> None:
        _worker.write_all(child.task_fd, json.dumps(att.launch).encode() + b"\n")
        child.attempt, att.child = att, child
        self._began(att, child.pid)

    def _dispatch_queued(self) -> None:
        while self.queue and self.closing != "kill":
            if not self.idle:
                if len(self.pool) >= self.pool_size:
                    return
                child = self._fork_child(once=False)
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
                self._open_files(att)

    # --- output -------------------------------------------------------------------------------

    def _open_files(self, att: _Attempt) -> None:
        """Open the log (writing its header) and create the result's tmp file.

        Both are done while the task runs rather than when it ends: creating a file is the
        slowest step of an attempt's bookkeeping, and at the end the driver is waiting.
        """
        self._open_log(att)
        if att.result_tmp is None and not att.done:
            path = att.launch["result_path"]
            try:
                self._ensure_dir(path)
                att.result_tmp = open(f"{path}.tmp", "wb")
                self.own_fds.add(att.result_tmp.fileno())
            except OSError:
                pass  # _write_result tries again and reports it

    def _open_log(self, att: _Attempt) -> None:
        if att.log is not None:
            return
        path = att.launch["log_path"]
        self._ensure_dir(path)
        att.log = open(path, "ab")
        self.own_fds.add(att.log.fileno())
        launch = att.launch
        if launch["kind"] == "command":
            what = shlex.join(launch["argv"])
        else:
            what = f"python {launch['target']} ({launch.get('isolation') or 'fork'})"
        started = f"pid {att.pid}" if att.pid else "not started"
        self._log(att, [f"shoal: start {att.key}: {what} ({started})"])

    def _log(self, att: _Attempt, lines: list[str]) -> None:
        if att.log is not None:
            stamp = self.stamp()
            att.log.write("".join(f"{stamp}{line}\n" for line in lines).encode("utf-8", "replace"))
            att.log.flush()  # unbuffered for `logs -f`, and so forked children inherit no buffer

    def _on_output(self, att: _Attempt, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        if data:
            self._feed(att, data)
            return
        self._close_fd(fd)
        att.out_fd = -1
        att.eof = True
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
        elif att is not None:
            self._feed(att, data)
        # else: output of a finished task's leftover background process; nobody to give it to

    def _feed(self, att: _Attempt, data: bytes) -> None:
        att.buf += data
        if att.child is not None and att.outcome is None and (start := att.buf.find(self.marker)) >= 0:
            end = att.buf.find(b"\n", start)
            if end < 0:
                return  # the rest of the outcome line is on its way
            body = bytes(att.buf[start + len(self.marker) : end])
            del att.buf[start:]  # what follows the marker is not this task's output
            self._emit_lines(att, final=True)
            att.outcome = json.loads(body)
            if att.reason is None:  # else we are killing it: its exit ends the attempt
                self._finish(att)
            return
        self._emit_lines(att, final=False)

    def _emit_lines(self, att: _Attempt, final: bool) -> None:
        buf = att.buf
        cut = len(buf) if final else buf.rfind(b"\n") + 1
        if not cut and len(buf) > MAX_LINE:
            cut = len(buf) - len(self.marker)  # never split a marker that may follow
        if not cut:
            return
        lines = bytes(buf[:cut]).decode("utf-8", "replace").split("\n")
        del buf[:cut]
        if lines[-1] == "":
            lines.pop()
        for i, line in enumerate(lines):
            if line.endswith("\r"):
                lines[i] = line = line[:-1]
            if "##shoal:set" in line and (m := SET_RE.fullmatch(line.strip())):
                att.outputs[m.group(1)] = m.group(2).strip()
        self._log(att, lines)

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

    def _terminate(self, att: _Attempt, reason: str, timed_out: bool = False) -> None:
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

    def _finish(self, att: _Attempt) -> None:
        att.done = True
        self.attempts.pop(att.key, None)
        if att.buf:
            self._emit_lines(att, final=True)
        if att.out_fd >= 0:
            self._close_fd(att.out_fd)
        outcome = att.outcome or {}
        exit_code = att.status
        if att.child is not None and att.status is None:
            exit_code = outcome.get("exit_code", 0)
        outputs = {**att.outputs, **outcome.get("outputs", {})}
        error = att.reason or outcome.get("error")
        if error is None and exit_code:
            error = f"exit code {exit_code}" if exit_code > 0 else f"killed by {_signame(-exit_code)}"
        result = {
            "key": att.key, "exit_code": exit_code, "outputs": outputs, "error": error,
            "timed_out": att.timed_out, "killed": att.killed, "pid": att.pid or None,
            "started_at": att.started_at if att.pid else None, "ended_at": time.time(),
        }  # fmt: skip
        if att.log is None and not att.pid and not att.killed:
            self._open_log(att)  # it failed to start: say so in its log
        if att.log is not None:
            tail = f": {error}" if error and error != f"exit code {exit_code}" else ""
            took = time.monotonic() - att.started_mono
            self._log(att, [f"shoal: end {att.key}: exit code {exit_code} ({took:.3f}s){tail}"])
            self.own_fds.discard(att.log.fileno())
            att.log.close()
        data = json.dumps(result).encode()
        self._write_result(att, data)
        self._send_result(data + b"\n")
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

    def _write_result(self, att: _Attempt, data: bytes) -> None:
        path = att.launch["result_path"]
        tmp = f"{path}.tmp"
        try:
            if att.result_tmp is None:
                self._ensure_dir(path)
                att.result_tmp = open(tmp, "wb")
            else:
                self.own_fds.discard(att.result_tmp.fileno())
            with att.result_tmp as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            print(f"shoal executor: cannot write {path}: {exc}", file=sys.stderr)

    def _ensure_dir(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent and parent not in self.dirs:
            os.makedirs(parent, exist_ok=True)
            self.dirs.add(parent)

    def _close_fd(self, fd: int) -> None:
        if fd < 0:
            return
        if fd in self.sel.get_map():
            self.sel.unregister(fd)
        self.own_fds.discard(fd)
        os.close(fd)

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


def _signame(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


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
    failed = preload(config["preload"], config["explicit"])
    # Keep the preloaded heap out of the collector so forks do not copy it page by page.
    gc.collect()
    gc.freeze()
    server = Server(ctl, evt, config["workers"], config["kill_grace"])
    server.reply({"ready": True, "pid": os.getpid(), "preload_failed": failed})
    server.run()


if __name__ == "__main__":
    main()
