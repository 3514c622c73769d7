"""Task logs over the API: which attempt logs a run has, reading them (a byte range at a time),
and following them as they are written, by polling the run and each log from where it was read
last: the same events (`LogLine`, `NewAttempt`) as following them on a local database.

An attempt log is named by its path in the API (`.../tasks/<task>/log/<attempt>`): the CLI
passes it back to `read_chunks`, as it passes a file's path locally.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from shoal.engine.run_info import RunInfo, TaskRunInfo
from shoal.engine.states import TASK_TERMINAL
from shoal.errors import NotFound
from shoal.services import logs as local
from shoal.services.logs import MAX_RANGE, AttemptLog, LogLine, NewAttempt, TaskLogs
from shoal.services.names import DEFAULT_PROJECT
from shoal.services.remote._client import part
from shoal.services.remote._face import Face
from shoal.services.remote.runs import Runs

__all__ = ["POLL_SECONDS", "LogLine", "Logs", "NewAttempt"]

POLL_SECONDS = 0.5  # between looks at a followed run's logs


class Logs(Face):
    LogLine = LogLine
    NewAttempt = NewAttempt

    def _run(self, run_id: int, project: str | None) -> RunInfo:
        return Runs(self.api).show(None, run_id, project=project)

    def task_logs(
        self, store: Any, run_id: int, task: str | None = None, attempt: int | None = None, *,
        project: str = DEFAULT_PROJECT,
    ) -> list[TaskLogs]:
        info = self._run(run_id, project)
        tasks = local.select_tasks(info, task)
        local.check_attempt(run_id, tasks, task, attempt)
        return [TaskLogs(t.task, t.state, [AttemptLog(t.task, n, self._log_path(info, t, n))  # type: ignore[arg-type]
                                           for n in _attempts(t, attempt)]) for t in tasks]

    def _log_path(self, info: RunInfo, t: TaskRunInfo, attempt: int) -> PurePosixPath:
        return PurePosixPath(f"/projects/{part(info.project)}/runs/{info.id}/tasks/{part(t.task)}/log/{attempt}")

    def read_chunks(self, path: PurePosixPath) -> Iterator[str]:
        """An attempt's log as text, a range at a time; nothing if it has no log (not started here)."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tail = _Tail(self, path)
        while True:
            data = tail.read()
            if data is None or not data:
                break
            yield decoder.decode(data)
        if rest := decoder.decode(b"", final=True):
            yield rest

    def follow(
        self, store: Any, run_id: int, task: str | None = None, attempt: int | None = None, *,
        project: str = DEFAULT_PROJECT, poll: float = POLL_SECONDS,
    ) -> Iterator[LogLine | NewAttempt]:
        local.select_tasks(self._run(run_id, project), task)  # a bad name fails before any wait
        tails: dict[tuple[str, int], _Tail] = {}
        while True:
            # The state before the logs: once it says ended, every line was written already.
            info = self._run(run_id, project)
            tasks = local.select_tasks(info, task)
            done = info.is_finished or (task is not None and all(t.state in TASK_TERMINAL for t in tasks))
            for t in tasks:
                for n in _attempts(t, attempt):
                    tail = tails.get((t.task, n)) or _Tail(self, self._log_path(info, t, n))
                    lines = tail.lines(final=done)
                    if lines is None:  # no log yet
                        continue
                    if (t.task, n) not in tails:
                        tails[(t.task, n)] = tail
                        if task is not None:
                            yield NewAttempt(t.task, n)
                    for line in lines:
                        yield LogLine(t.task, n, line)
            if done:
                if attempt is not None and not tails:
                    raise local.never_ran(run_id, tasks, task, attempt)
                return
            time.sleep(poll)


def _attempts(t: TaskRunInfo, attempt: int | None) -> list[int]:
    """The attempts of a task that may have a log (only `attempt`, if given)."""
    return [n for n in range(1, t.attempt + 1) if attempt is None or n == attempt]


class _Tail:
    """What of one attempt's log has been read: its bytes are fetched from `offset` on."""

    def __init__(self, logs: Logs, path: PurePosixPath) -> None:
        self.logs, self.path = logs, path
        self.offset = 0
        self.partial = b""

    def read(self) -> bytes | None:
        """The next bytes (b"": none new); None while the attempt has no log."""
        try:
            answer = self.logs.api.request("GET", str(self.path.parent), params={
                "attempt": self.path.name, "offset": self.offset, "limit": MAX_RANGE})
        except NotFound:
            return None
        self.offset += len(answer.content)
        return answer.content

    def lines(self, final: bool) -> list[str] | None:
        """The complete lines written since the last call (with `final`, the last partial one too)."""
        data = b""
        while True:
            chunk = self.read()
            if chunk is None:
                return None if not self.offset else []
            if not chunk:
                break
            data += chunk
        data = self.partial + data
        cut = len(data) if final else data.rfind(b"\n") + 1
        self.partial = data[cut:]
        return data[:cut].decode("utf-8", "replace").splitlines()
