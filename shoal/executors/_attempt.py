"""One attempt as the executor server sees it: its output stream, its log file and its Result.

The server (`_server.py`) owns processes and the event loop; an `Attempt` owns what is written
about one attempt:

- `feed()` turns raw bytes from the task's output pipe into lines (partial lines are held back,
  undecodable bytes replaced) written to the log with a `[2026-11-23 09:00:00.123] ` stamp;
  lines `##shoal:set key=value` become outputs (later wins). For a python attempt it also spots
  the outcome marker its process writes after the task's last output (see `_worker.py`).
- The log gets a header when the attempt starts (what runs, pid) and a footer when it ends
  (exit code, duration, error).
- `end()` builds the Result, writes it to `result_path` atomically (a tmp file created while the
  task runs, then renamed) and returns it as a JSON line for the driver.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from shoal.executors._server import _Child

MAX_LINE = 65536  # a longer line without newline is logged in pieces
SET_RE = re.compile(r"##shoal:set ([A-Za-z_][A-Za-z0-9_]*)=(.*)")

_made_dirs: set[str] = set()  # makedirs costs a syscall per call; each directory is made once
_stamp_sec = -1
_stamp_base = ""


class Attempt:
    """An attempt's bookkeeping. The server sets the process fields; the rest happens here."""

    __slots__ = (
        "buf", "child", "deadline", "done", "eof", "exited_at", "fds", "key", "killed", "launch",
        "log", "marker", "out_fd", "outcome", "outputs", "pid", "reason", "result_tmp", "started_at",
        "started_mono", "status", "timed_out",
    )  # fmt: skip

    def __init__(self, launch: dict[str, Any], marker: bytes, fds: set[int]) -> None:
        self.key: str = launch["key"]
        self.launch = launch
        self.marker = marker
        self.fds = fds  # the server's descriptors, which forked children must close
        self.pid = 0
        self.out_fd = -1  # a command's output pipe (python children own theirs)
        self.child: _Child | None = None  # the python process running it
        self.buf = bytearray()
        self.log: BinaryIO | None = None
        self.result_tmp: BinaryIO | None = None
        self.outputs: dict[str, Any] = {}
        self.outcome: dict[str, Any] | None = None  # a python call's marker payload
        self.status: int | None = None  # exit code once reaped (-signum if signalled)
        self.exited_at = 0.0
        self.eof = False
        self.started_at = time.time()
        self.started_mono = time.monotonic()
        self.deadline: float | None = None
        self.timed_out = self.killed = self.done = False
        self.reason: str | None = None  # why it was signalled (or why it could not start)

    def began(self, pid: int) -> None:
        self.pid = pid
        self.started_at, self.started_mono = time.time(), time.monotonic()
        if self.launch.get("timeout") is not None:
            self.deadline = self.started_mono + float(self.launch["timeout"])

    # --- files --------------------------------------------------------------------------------

    def open_files(self) -> None:
        """Open the log (writing its header) and create the result's tmp file.

        Both happen while the task runs rather than when it ends: creating a file is the slowest
        step of an attempt's bookkeeping, and at the end the driver is waiting.
        """
        self._open_log()
        if self.result_tmp is None and not self.done:
            try:
                self.result_tmp = _create(f"{self.launch['result_path']}.tmp", "wb")
                self.fds.add(self.result_tmp.fileno())
                # Until the result replaces it, the tmp file says which process runs the attempt:
                # if this server is SIGKILLed, the next driver finds and kills what it left
                # running (see `recorded_pid`) before retrying the task.
                self.result_tmp.write(b'{"pid": %d}' % self.pid)
                self.result_tmp.flush()
            except OSError:
                pass  # end() tries again and reports it

    def _open_log(self) -> None:
        if self.log is not None:
            return
        path = self.launch["log_path"]
        try:
            self.log = _create(path, "ab")
        except OSError as exc:  # the task still runs; only its log is lost
            print(f"shoal executor: cannot open log {path}: {exc}", file=sys.stderr)
            return
        self.fds.add(self.log.fileno())
        launch = self.launch
        if launch["kind"] == "command":
            what = shlex.join(launch["argv"])
        else:
            what = f"python {launch['target']} ({launch.get('isolation') or 'fork'})"
        started = f"pid {self.pid}" if self.pid else "not started"
        self._log([f"shoal: start {self.key}: {what} ({started})"])

    def note(self, text: str) -> None:
        """A line of shoal's own in the attempt's log."""
        self._log([f"shoal: {text}"])

    def _log(self, lines: list[str]) -> None:
        if self.log is None:
            return
        masks = self.launch.get("mask")
        if masks:  # the run's secret values, longest first: never written to a log
            lines = [_masked(line, masks) for line in lines]
        stamp = _stamp()
        try:
            self.log.write("".join(f"{stamp}{line}\n" for line in lines).encode("utf-8", "replace"))
            self.log.flush()  # unbuffered for `logs -f`, and so forked children inherit no buffer
        except OSError as exc:  # e.g. the disk is full: keep running, stop logging
            print(f"shoal executor: cannot write log {self.launch['log_path']}: {exc}", file=sys.stderr)
            self._close_log()

    def _close_log(self) -> None:
        if self.log is not None:
            self.fds.discard(self.log.fileno())
            try:
                self.log.close()
            except OSError:
                pass
            self.log = None

    # --- output -------------------------------------------------------------------------------

    def feed(self, data: bytes) -> bool:
        """Take output bytes; True when they complete a python call's outcome marker."""
        self.buf += data
        if self.child is not None and self.outcome is None and (start := self.buf.find(self.marker)) >= 0:
            end = self.buf.find(b"\n", start)
            if end < 0:
                return False  # the rest of the outcome line is on its way
            body = bytes(self.buf[start + len(self.marker) : end])
            del self.buf[start:]  # what follows the marker is not this task's output
            self._emit_lines(final=True)
            self.outcome = json.loads(body)
            return True
        self._emit_lines(final=False)
        return False

    def _emit_lines(self, final: bool) -> None:
        buf = self.buf
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
                self.outputs[m.group(1)] = m.group(2).strip()
        self._log(lines)

    # --- the end ------------------------------------------------------------------------------

    def end(self) -> bytes:
        """Log the footer, write the result file; return the Result as a JSON line."""
        self.done = True
        if self.buf:
            self._emit_lines(final=True)
        outcome = self.outcome or {}
        exit_code = self.status
        if self.outcome is not None and self.status is None:  # a python call that reported back
            exit_code = outcome.get("exit_code", 0)
        error = self.reason or outcome.get("error")
        if error is None and exit_code:
            error = f"exit code {exit_code}" if exit_code > 0 else f"killed by {_signame(-exit_code)}"
        result = {
            "key": self.key, "exit_code": exit_code, "outputs": {**self.outputs, **outcome.get("outputs", {})},
            "error": error, "timed_out": self.timed_out, "killed": self.killed, "pid": self.pid or None,
            "started_at": self.started_at if self.pid else None, "ended_at": time.time(),
        }  # fmt: skip
        if self.log is None and not self.pid:
            self._open_log()  # it never started (failed, or killed while queued): say so
        if self.log is not None:
            tail = f": {error}" if error and error != f"exit code {exit_code}" else ""
            took = time.monotonic() - self.started_mono
            self._log([f"shoal: end {self.key}: exit code {exit_code} ({took:.3f}s){tail}"])
            self._close_log()
        data = json.dumps(result).encode()
        self._write_result(data)
        return data + b"\n"

    def _write_result(self, data: bytes) -> None:
        path = self.launch["result_path"]
        tmp = f"{path}.tmp"
        try:
            if self.result_tmp is None:
                self.result_tmp = _create(tmp, "wb")
            else:
                self.fds.discard(self.result_tmp.fileno())
            with self.result_tmp as f:
                f.seek(0)
                f.truncate()
                f.write(data)
            os.replace(tmp, path)  # readers see the old state or the whole result, never half
        except OSError as exc:
            print(f"shoal executor: cannot write {path}: {exc}", file=sys.stderr)


def recorded_pid(result_path: str) -> tuple[int, float] | None:
    """The pid of an attempt that has not ended, as its executor recorded it when the attempt
    started, and when it recorded it (to tell the process from a later one given the same pid).
    None once the attempt ended (its result replaced the record) or if it never started."""
    try:
        with open(f"{result_path}.tmp", "rb") as f:
            pid = int(json.loads(f.read())["pid"])
            written = os.fstat(f.fileno()).st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return (pid, written) if pid > 0 else None


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)  # logs and results are the owner's only (they hold task output)


def _create(path: str, mode: str) -> BinaryIO:
    parent = os.path.dirname(path)
    if parent and parent not in _made_dirs:
        os.makedirs(parent, mode=0o700, exist_ok=True)
        _made_dirs.add(parent)
    try:
        return open(path, mode, opener=_private)  # type: ignore[return-value]  # closed by Attempt
    except FileNotFoundError:  # its directory was removed since we made it
        _made_dirs.discard(parent)
        os.makedirs(parent, mode=0o700, exist_ok=True)
        return open(path, mode, opener=_private)  # type: ignore[return-value]


def _masked(line: str, masks: list[str]) -> str:
    for value in masks:
        if value in line:
            line = line.replace(value, "***")
    return line


def _stamp() -> str:
    """`[2026-11-23 09:00:00.123] `, with strftime run once per second rather than per line."""
    global _stamp_sec, _stamp_base
    now = time.time()
    sec = int(now)
    if sec != _stamp_sec:
        _stamp_sec, _stamp_base = sec, time.strftime("[%Y-%m-%d %H:%M:%S", time.localtime(sec))
    return f"{_stamp_base}.{int((now - sec) * 1000):03d}] "


def _signame(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
