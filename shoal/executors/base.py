"""The contract between the engine and an executor.

The engine decides *what* runs and records every state change in the database; an executor only
starts attempts, streams their output to per-attempt log files and reports how they ended.
Each attempt gets a `result_path`: the executor writes the attempt's `Result` there (atomically)
before reporting it, so a driver that crashed can learn, after restarting, how an attempt it
launched ended — a task that succeeded is never run again just because the driver died.

`Executor` is the protocol the driver speaks: submit, poll, kill (cancel), and the three ways of
finding out what became of attempts nobody is watching any more (`recover`, `leftover`,
`restart`). Where an attempt ran (a pid, a process group, a result file on this host) stays
behind it: `LocalExecutor` (local.py) runs attempts on this machine through a warm fork server,
`InlineExecutor` (inline.py) runs them to their end inside `submit`, for tests that step the
engine without processes or sleeps. Remote workers and Ray plug in here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from shoal.errors import ShoalError

Isolation = Literal["fork", "worker"]


@dataclass
class Launch:
    """One attempt of one task run to start.

    kind == "command": spawn `argv` directly (no shell unless argv says so).
    kind == "python": call `target` ("module:function", taking `payload` and returning a dict of
    outputs) in a process forked from the warm fork server (`isolation="fork"`) or in a reused
    warm worker process (`isolation="worker"`).
    """

    key: str  # "<task_run_id>:<attempt>", unique per attempt
    kind: Literal["command", "python"]
    log_path: str
    result_path: str
    argv: list[str] | None = None
    target: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    isolation: Isolation = "fork"
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # added to the executor's environment
    sys_path: list[str] = field(default_factory=list)  # prepended to sys.path for python targets
    timeout: float | None = None  # seconds; the whole process group is killed at the deadline
    # Modules the fork server imports once it is idle, if it has not yet: later python launches
    # then start with them (e.g. the task type's module, with its SQLAlchemy or ML libraries).
    warm: list[str] = field(default_factory=list)
    # Secret values (longest first) the executor writes as `***` wherever they appear in the log.
    mask: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Result:
    """How an attempt ended. `outputs` merges `##shoal:set k=v` lines and a python return dict."""

    key: str
    exit_code: int | None
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # a one-line reason for failure, shown in `runs show`
    timed_out: bool = False
    killed: bool = False  # killed on request (stop) or because the driver went away
    # Its end was not observed (the executor or the driver running it went away): the driver
    # says so in the attempt's log.
    lost: bool = False
    pid: int | None = None
    started_at: float | None = None  # unix time
    ended_at: float | None = None

    @property
    def is_success(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.killed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def driver_died(cls, key: str) -> Result:
        """What is known of an attempt that left no result: its driver died before it ended."""
        return cls(key=key, exit_code=None, killed=True, lost=True,
                   error="lost: the driver running this attempt exited before it finished")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Attempt:
    """An attempt the database says is running, as its start was recorded: what an executor
    needs to find out how it ended after the driver that started it went away."""

    key: str
    result_path: str
    host: str | None = None
    executor_pid: int | None = None


class ExecutorDied(ShoalError, RuntimeError):
    """Raised when the executor (its server process) exits unexpectedly; call `restart`."""

    code = "executor_died"


class Executor(Protocol):
    """What the driver asks of an executor. Not thread-safe: the driver is single-threaded.

    `submit`, `poll` and `kill` may raise `ExecutorDied`; the driver then calls `restart`.
    """

    kill_grace: float  # seconds an attempt gets between being asked to stop and being killed
    # Recorded on every task run it starts (`task_runs.executor_pid`), so that a driver taking
    # the run over can tell whose attempts they are. None: attempts never outlive the driver.
    server_pid: int | None

    def start(self) -> object:
        """Get ready to accept launches."""
        ...

    def close(self, kill_running: bool = True) -> list[Result]:
        """Stop; with `kill_running`, attempts still running are killed and their results returned."""
        ...

    def submit(self, launch: Launch, *, wait: bool = True) -> int:
        """Start an attempt; its Result comes back through `poll`. Returns its pid if known, else 0."""
        ...

    def poll(self, timeout: float | None = None) -> list[Result]:
        """Results of attempts that ended, waiting up to `timeout` seconds for the first."""
        ...

    def kill(self, key: str, reason: str = "killed") -> None:
        """Cancel an attempt; its Result (`killed=True`, `reason` as error) comes through `poll`."""
        ...

    def running(self) -> set[str]:
        """Keys submitted whose Result `poll` has not returned yet."""
        ...

    def is_running(self, key: str) -> bool:
        """Was `key` submitted here, its Result not polled yet?"""
        ...

    def recover(
        self, attempts: Sequence[Attempt], *, owner_gone: bool, keep_alive: Callable[[], None],
    ) -> list[Result]:
        """How attempts that a previous driver (`owner_gone`: known dead) started ended: those
        still running somewhere are ended first. Attempts this executor runs are left out
        (followed as usual). An attempt whose end cannot be known comes back `lost`.
        `keep_alive` is called while this waits (the caller renews its leases)."""
        ...

    def leftover(self, launch: Launch) -> Result | None:
        """A success of this very attempt that an earlier executor reported to nobody (its
        driver died before recording the start): recorded instead of running it again.
        Anything else it left is ended and discarded."""
        ...

    def restart(self) -> list[Result]:
        """After `ExecutorDied`: end what the dead executor left running, return each of its
        attempts' results (`lost` where it wrote none) and start afresh."""
        ...


def read_result(path: str | Path, key: str) -> Result | None:
    """The Result written at `path` for attempt `key`, or None (none, unreadable, another attempt's)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    result = Result.from_dict(data)
    return result if result.key == key else None


__all__ = ["Attempt", "Executor", "ExecutorDied", "Isolation", "Launch", "Result", "read_result"]
