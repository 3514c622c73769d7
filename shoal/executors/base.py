"""The contract between the engine and an executor.

The engine decides *what* runs and records every state change in the database; an executor only
starts processes, streams their output to per-attempt log files and reports how they ended.
Each attempt gets a `result_path`: the executor writes the attempt's `Result` there (atomically)
before reporting it, so a driver that crashed can learn, after restarting, how an attempt it
launched ended — a task that succeeded is never run again just because the driver died.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
    pid: int | None = None
    started_at: float | None = None  # unix time
    ended_at: float | None = None

    @property
    def is_success(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.killed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})
