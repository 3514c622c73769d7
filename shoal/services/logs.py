"""Task-run logs: which attempt logs a run has, reading them, and following them as they are
written (`tail -f`), until the run (or the one task) has ended.

Attempt logs are plain files the executor appends to, one line at a time and unbuffered, under
`SHOAL_HOME/logs/<run>/<task>/<attempt>.log` (`shoal.engine.paths`). Following is polling each
file's size: what is new up to its last newline is a line, a partial line waits for the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shoal.engine.access import LOCAL, Actor
from shoal.engine.paths import attempt_dir, run_dir_is_its_own
from shoal.engine.run_info import RunInfo, TaskRunInfo, get_run
from shoal.engine.states import TASK_TERMINAL
from shoal.errors import InvalidInput, NotFound
from shoal.services.runs import is_driven
from shoal.services.streams import IDLE, Idle
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store

__all__ = [
    "MAX_RANGE", "AttemptLog", "LogLine", "LogRange", "NewAttempt", "TaskLogs", "Undriven", "check_attempt", "follow",
    "log_paths", "never_ran", "read_chunks", "read_range", "select_tasks", "task_logs",
]

POLL_SECONDS = 0.25
UNDRIVEN_SECONDS = 2.0  # a run nobody drives this long is reported once (a claim takes ~1 s)
CHUNK = 1 << 20  # a task may have printed gigabytes: read its log a piece at a time
MAX_RANGE = 8 << 20  # most bytes of a log one `read_range` returns: ask again from `offset + len`


@dataclass(frozen=True)
class AttemptLog:
    task: str
    attempt: int
    path: Path


@dataclass(frozen=True)
class TaskLogs:
    """A task of a run, its state and its attempt logs on this host, in attempt order."""

    task: str
    state: str
    attempts: list[AttemptLog]


@dataclass(frozen=True)
class LogLine:
    task: str
    attempt: int
    text: str  # without its newline


@dataclass(frozen=True)
class NewAttempt:
    """Following one task: the log of another attempt begins."""

    task: str
    attempt: int


@dataclass(frozen=True)
class Undriven:
    """The followed run waits for a driver and none is running (no scheduler, its waiting
    command gone): said once, so that following it does not wait in silence."""

    run_id: int


LogEvent = LogLine | NewAttempt | Undriven


def task_logs(
    store: Store, run_id: int, task: str | None = None, attempt: int | None = None, *,
    project: str = DEFAULT_PROJECT, actor: Actor = LOCAL,
) -> list[TaskLogs]:
    """The attempt logs of every task of a run (or of `task`, or only of `attempt`). Names a task
    the run does not have, or an attempt that never started, as bad input."""
    info = get_run(store, run_id, project=project, actor=actor)
    tasks = select_tasks(info, task)
    check_attempt(run_id, tasks, task, attempt)
    return [TaskLogs(t.task, t.state, _attempt_logs(store, info, t.task, attempt)) for t in tasks]


def check_attempt(run_id: int, tasks: list[TaskRunInfo], task: str | None, attempt: int | None) -> None:
    """InvalidInput when no task of `tasks` (of `task`, if named) has had attempt `attempt`."""
    if attempt is not None and all(attempt > t.attempt for t in tasks):
        # Attempts are numbered 1..attempt (reruns continue the count), so this one never started.
        if task is not None:
            n = tasks[0].attempt
            if n == 0:
                have = f"it ran none ({tasks[0].state})"
            else:
                have = "its only attempt is 1" if n == 1 else f"its attempts are 1 to {n}"
            raise InvalidInput(f"task {task!r} of run {run_id} has no attempt {attempt}; {have}")
        most = max((t.attempt for t in tasks), default=0)
        raise InvalidInput(f"no task of run {run_id} has an attempt {attempt}; "
                           + (f"the most any task has is {most}" if most else "no task has run yet"))


@dataclass(frozen=True)
class LogRange:
    """Bytes `offset` to `offset + len(data)` of one attempt's log, which is `size` bytes now."""

    task: str
    attempt: int
    offset: int
    size: int
    data: bytes


def read_range(
    store: Store, run_id: int, task: str, attempt: int | None = None, *, offset: int = 0, limit: int = MAX_RANGE,
    project: str = DEFAULT_PROJECT, actor: Actor = LOCAL,
) -> LogRange:
    """A byte range of a task's log: of `attempt`, or of its latest attempt. Bytes, not text: a
    range may end inside a character, and the next one starts where it stopped."""
    if offset < 0 or not 0 < limit <= MAX_RANGE:
        raise InvalidInput(f"a log range starts at 0 or later and reads 1 to {MAX_RANGE} bytes", field="offset")
    found = task_logs(store, run_id, task, attempt, project=project, actor=actor)[0].attempts
    if not found:
        raise NotFound(f"task {task!r} of run {run_id} has no log yet: it has not started", task=task)
    log = found[-1]
    with log.path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(min(offset, size))
        return LogRange(task, log.attempt, min(offset, size), size, f.read(limit))


def read_chunks(path: Path) -> Iterator[str]:
    """A log's text, a piece at a time."""
    with path.open(encoding="utf-8", errors="replace") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def follow(
    store: Store, run_id: int, task: str | None = None, attempt: int | None = None, *,
    project: str = DEFAULT_PROJECT, actor: Actor = LOCAL, poll: float = POLL_SECONDS, idle: bool = False,
) -> Iterator[LogEvent | Idle]:
    """New log lines of the run's tasks (or of `task`, or of one `attempt`) as they are written,
    until the run (or the task) has ended; several tasks' lines interleave. `idle`: yield IDLE
    where it would sleep `poll`, for a caller that waits its own way (the API's event streams)."""
    select_tasks(get_run(store, run_id, project=project, actor=actor), task)  # a bad name fails before any wait
    tails: dict[Path, _Tail] = {}
    undriven = _UndrivenClock(store, run_id)
    while True:
        # Read the state before the files: once it says ended, every line was written already.
        info = get_run(store, run_id)
        tasks = select_tasks(info, task)
        done = info.is_finished or (task is not None and all(t.state in TASK_TERMINAL for t in tasks))
        for t in tasks:
            for log in _attempt_logs(store, info, t.task, attempt):
                tail = tails.get(log.path)
                if tail is None:
                    tail = tails[log.path] = _Tail(log.path)
                    if task is not None:
                        yield NewAttempt(t.task, log.attempt)
                for line in tail.lines(final=done):
                    yield LogLine(t.task, log.attempt, line)
        if done:
            if attempt is not None and not tails:  # as without following: it never ran
                raise never_ran(run_id, tasks, task, attempt)
            return
        if undriven.says_so():
            yield Undriven(run_id)
        if idle:
            yield IDLE
        else:
            time.sleep(poll)


def never_ran(run_id: int, tasks: list[TaskRunInfo], task: str | None, attempt: int) -> InvalidInput:
    """Following attempt `attempt` of a run that ended without it."""
    most = max((t.attempt for t in tasks), default=0)
    return InvalidInput(f"{'task ' + repr(task) if task else 'no task'} of run {run_id} "
                        f"{'has' if task else 'had'} no attempt {attempt}; it ended after "
                        f"{most} attempt{'s' if most != 1 else ''}")


def log_paths(store: Store, info: RunInfo, task: str, attempt: int | None = None) -> list[Path]:
    """The files of a task's attempt logs on this host, in attempt order (only `attempt`'s, if given)."""
    return [log.path for log in _attempt_logs(store, info, task, attempt)]


def select_tasks(info: RunInfo, task: str | None) -> list[TaskRunInfo]:
    """The run's tasks (only `task`, if named: NotFound, listing them, if the run has no such task)."""
    names = [t.task for t in info.tasks]
    if task is not None and task not in names:
        raise NotFound(f"run {info.id} has no task {task!r}; its tasks: {', '.join(names)}")
    return [t for t in info.tasks if task is None or t.task == task]


def _attempt_logs(store: Store, info: RunInfo, task: str, attempt: int | None) -> list[AttemptLog]:
    """A task's attempt logs in attempt order; none while the run's directory holds another
    run's files (an earlier database's run of the same number)."""
    folder = attempt_dir(store.logs_dir, info.id, task)
    has_run = any(t.attempt for t in info.tasks)
    if not folder.is_dir() or not run_dir_is_its_own(store.logs_dir, info.id, info.created_at, has_run):
        return []
    found = sorted((int(p.stem), p) for p in folder.glob("*.log") if p.stem.isdigit())
    return [AttemptLog(task, n, p) for n, p in found if attempt is None or n == attempt]


class _Tail:
    """What of one attempt's log has been read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def lines(self, final: bool) -> list[str]:
        try:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        self.offset += len(data)
        data = self.partial + data
        cut = len(data) if final else data.rfind(b"\n") + 1
        self.partial = data[cut:]
        return data[:cut].decode("utf-8", "replace").splitlines()


class _UndrivenClock:
    """Says once when the run has waited UNDRIVEN_SECONDS for a driver; again if it is left
    without one later."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store, self.run_id = store, run_id
        self.since: float | None = None
        self.told = False

    def says_so(self) -> bool:
        if is_driven(self.store, self.run_id):
            self.since, self.told = None, False
            return False
        now = time.monotonic()
        if self.since is None:
            self.since = now
        if not self.told and now - self.since >= UNDRIVEN_SECONDS:
            self.told = True
            return True
        return False
