"""The driver's side of the executor: hand started attempts over, collect how they ended, cut
them off, and replace an executor that died.

What this keeps is what the executor has said that the database does not know yet: results to
record as if the executor had just reported them (`adopted`: attempts of a replaced executor,
and attempts a dead driver had already run to success) and the successes found for attempts of
taken-over runs before they start again (`unrecorded`). The driver decides and records; this
module never writes to the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from shoal.engine.book import RunBook
from shoal.engine.launch import one_line
from shoal.engine.runtime import ActiveRun, TaskState
from shoal.executors.base import Executor, ExecutorDied, Launch, Result

log = logging.getLogger(__name__)
Batch = list[tuple[ActiveRun, TaskState, Launch]]
Refused = list[tuple[ActiveRun, TaskState, Result]]
LogLine = Callable[[ActiveRun, TaskState, str], None]


class Attempts:
    """Attempts on one executor, for one driver (whose `book` says what is in flight)."""

    def __init__(self, executor: Executor, book: RunBook, log_line: LogLine) -> None:
        self.executor = executor
        self.book = book
        self._log_line = log_line
        self._unrecorded: dict[str, Result] = {}
        self._adopted: list[Result] = []

    def poll(self, timeout: float) -> list[Result]:
        """Results from the executor, after those waiting to be recorded (`adopted`)."""
        try:
            results = self.executor.poll(0.0 if self._adopted else timeout)
        except ExecutorDied as exc:
            self._executor_died(exc)
            results = []
        adopted, self._adopted = self._adopted, []
        return adopted + results

    def kill(self, key: str, reason: str = "killed") -> None:
        try:
            self.executor.kill(key, reason)
        except ExecutorDied as exc:
            self._executor_died(exc)

    def submit(self, batch: Batch) -> Refused:
        """Hand started attempts to the executor. The pid is recorded with the outcome: stop goes
        through the owning driver, which kills by attempt key, so the database need not know it
        sooner. Returns the attempts the executor refused, for the caller to record once the
        transaction that started them has committed."""
        refused: Refused = []
        for run, ts, launch in batch:
            self.book.inflight[launch.key] = (run.id, ts.name)
            if self.executor.is_running(launch.key):
                continue  # started before `reload`, its start not written then: follow it, never start it twice
            adopted = self._unrecorded.pop(launch.key, None)
            if adopted is not None:
                self._adopted.append(adopted)  # it already succeeded: record it, never rerun it
                continue
            try:
                try:
                    self.executor.submit(launch, wait=False)
                except ExecutorDied as exc:
                    self._executor_died(exc)
                    self.executor.submit(launch, wait=False)  # on the fresh one
            except Exception as exc:  # e.g. the executor refused the launch
                self.book.inflight.pop(launch.key, None)
                self.book.release(launch.key)
                error = f"cannot start: {one_line(exc)}"
                refused.append((run, ts, Result(key=launch.key, exit_code=None, error=error)))
        return refused

    def check_unrecorded(self, launch: Launch) -> None:
        """Before starting an attempt of a run taken over from a dead driver, ask the executor
        for a result of that very attempt: the dead driver may have handed it over and died
        before the transaction recording the start committed (see `Driver._record`). A success
        is recorded instead of running the task again."""
        result = self.executor.leftover(launch)
        if result is not None:
            self._unrecorded[launch.key] = result

    def not_started(self, key: str) -> None:
        """The attempt `key` will not start after all (its run was stopped or taken over)."""
        self._unrecorded.pop(key, None)

    def clear(self) -> None:
        """Forget what is not recorded (the driver reloads everything from the database)."""
        self._unrecorded.clear()

    def _executor_died(self, exc: ExecutorDied) -> None:
        """The executor died under the driver (SIGKILL, the OOM killer): it ends what its attempts
        left running and starts afresh; each attempt is recorded as it ended, or as lost (retried
        per its retries, as when a driver dies)."""
        log.error("%s; starting a new executor", exc)
        for result in self.executor.restart():
            where = self.book.inflight.get(result.key)
            if where is None:
                continue
            if result.lost and (run := self.book.active.get(where[0])) is not None:
                self._log_line(run, run.tasks[where[1]], result.error or "lost")
            self._adopted.append(result)


__all__ = ["Attempts", "Batch", "Refused"]
