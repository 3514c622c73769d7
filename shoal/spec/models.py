"""The workflow definition: pydantic models for workflow, task, schedule and resources.

A workflow file is validated in two passes. These models check each field on its own (types,
durations, cron, timezone); `shoal.spec.validate` then checks the workflow as a whole (DAG,
references, task-type params). Task-type specific keys (`command`, `callable`, `cases`, ...) sit
beside the common keys of a task and are kept in `TaskSpec.model_extra`; the task type's own
`Params` model validates them.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
DEFAULT_PROJECT = "default"

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T|k)?\s*$")
_MEMORY_UNITS = {
    None: 1, "K": 10**3, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}


def parse_duration(value: Any) -> float:
    """`"1s"`, `"5m"`, `"2h"`, `"1d"`, `"250ms"` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: use e.g. 30s, 5m, 2h, 1d")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    raise ValueError(f"invalid duration {value!r}: use e.g. 30s, 5m, 2h, 1d")


def parse_memory(value: Any) -> int:
    """`"512Mi"`, `"1Gi"`, `"100M"` or a number of bytes -> bytes."""
    if isinstance(value, bool):
        raise ValueError(f"invalid memory {value!r}: use e.g. 512Mi, 2Gi")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid memory {value!r}: must not be negative")
        return int(value)
    if isinstance(value, str):
        m = _MEMORY_RE.match(value)
        if m:
            return int(float(m.group(1)) * _MEMORY_UNITS[m.group(2)])
    raise ValueError(f"invalid memory {value!r}: use e.g. 512Mi, 2Gi")


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds}s"


def _to_str(value: Any) -> Any:
    # YAML reads `threshold: 10` as an int; params are strings, as in DolphinScheduler.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
MemoryBytes = Annotated[int, BeforeValidator(parse_memory)]
ParamValue = Annotated[str, BeforeValidator(_to_str)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=128)]


class Resources(BaseModel):
    """What one task run needs from the executor; it is never started where it does not fit."""

    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(default=1.0, gt=0, le=4096)
    memory: MemoryBytes = Field(default=0, ge=0)
    gpu: int = Field(default=0, ge=0)


class Schedule(BaseModel):
    """Cron timing of a workflow: runs are created for each fire time (the logical date)."""

    model_config = ConfigDict(extra="forbid")

    cron: str
    timezone: str = "UTC"
    start: date | datetime | None = None
    end: date | datetime | None = None
    catchup: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, v: str) -> str:
        if not croniter.is_valid(v):
            raise ValueError(f"invalid cron expression {v!r}: expected 5 fields, e.g. '0 2 * * *'")
        return v

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}: use an IANA name such as 'Asia/Shanghai' or 'UTC'") from None
        return v


class TaskSpec(BaseModel):
    """One node of a workflow. Keys not listed here belong to the task type's `Params`."""

    model_config = ConfigDict(extra="allow")

    name: Name
    type: str
    description: str = ""
    upstream: list[str] = Field(default_factory=list)
    params: dict[str, ParamValue] = Field(default_factory=dict)
    retries: int = Field(default=0, ge=0, le=100)
    retry_delay: Duration = 0.0
    # Delay before attempt n+1 is retry_delay * retry_backoff**(n-1); 2.0 gives exponential backoff.
    retry_backoff: float = Field(default=1.0, ge=1.0, le=10.0)
    timeout: Duration | None = None
    priority: int = 0
    # When the task may start, given its upstreams' outcomes (Airflow's trigger rules). None: the
    # task type's default (all_success; all_done for `condition`, which branches on failure).
    trigger_rule: Literal["all_success", "all_done", "none_failed", "one_success"] | None = None
    resources: Resources = Field(default_factory=Resources)
    env: dict[str, ParamValue] = Field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        """The task-type specific keys, as written (before `${...}` resolution)."""
        return dict(self.model_extra or {})


class Workflow(BaseModel):
    """A DAG definition. Stored as immutable versions; a run pins the version it started with."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    project: Name = DEFAULT_PROJECT
    description: str = ""
    params: dict[str, ParamValue] = Field(default_factory=dict)
    schedule: Schedule | None = None
    # end: a failed task stops new tasks from starting; continue: independent branches go on.
    failure_strategy: Literal["end", "continue"] = "end"
    max_active_tasks: int | None = Field(default=None, ge=1)
    # At most this many runs of the workflow at once (scheduled, catch-up, backfill, manual);
    # the others wait queued and start earliest logical date first.
    max_active_runs: int | None = Field(default=None, ge=1)
    tasks: list[TaskSpec] = Field(min_length=1)

    def task(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The definition as plain data, without defaults, in a stable key order."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def spec_hash(self) -> str:
        """Content hash used to decide whether `apply` makes a new version."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()
