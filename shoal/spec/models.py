"""The workflow definition: pydantic models for workflow, task, schedule and resources.

A workflow file is validated in two passes. These models check each field on its own (types,
durations, cron, timezone); `shoal.spec.validate` then checks the workflow as a whole (DAG,
references, task-type params). Task-type specific keys (`command`, `callable`, `cases`, ...) sit
beside the common keys of a task and are kept in `TaskSpec.model_extra`; the task type's own
`Params` model validates them.

Numbers are bounded by what the engine and the database can hold (Integer columns are 32-bit,
date arithmetic overflows past year 9999), so a bad value fails here, naming its field, and not
later in the engine. Definitions stored by an older shoal are re-read with `Workflow.from_stored`,
which skips the bounds added since (an out-of-range value could already be stored): a stored
version stays readable, and only new input is held to the new rules.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from shoal.spec.alerts import AlertRules
from shoal.units import DURATION_PATTERN, MEMORY_PATTERN, parse_duration, parse_memory

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"
# projects.name, workflows.name and task_runs.task_name are String(128) columns.
MAX_NAME_LENGTH = 128
DEFAULT_PROJECT = "default"

# Bounds of numeric fields. task_runs.priority is a 32-bit Integer column; the others leave
# room for arithmetic (retry backoff, deadlines) and are far beyond any real need.
PRIORITY_RANGE = (-1_000_000, 1_000_000)
MAX_ACTIVE_LIMIT = 1_000_000  # max_active_tasks, max_active_runs
MAX_GPU = 4096
MAX_MEMORY = 2**50  # 1Pi
MAX_DURATION = 365 * 86400.0  # retry_delay, timeout, poll_interval: 365 days
MAX_CRON_LENGTH = 128  # schedules.cron is a String(128) column
# Logical dates shoal runs: a day either side stays a date (`${yesterday_ds}`, `$[yyyyMMdd+1]`,
# any timezone's offset), which the years 1 and 9999 do not leave room for.
MIN_LOGICAL_DATE = date(1000, 1, 1)
MAX_LOGICAL_DATE = date(9998, 12, 31)
# Validation context key set by `Workflow.from_stored`: skip the bounds added after data was stored.
STORED = "stored"



def is_stored(info: ValidationInfo) -> bool:
    """True while `Workflow.from_stored` re-reads a stored definition (see the module docstring)."""
    return isinstance(info.context, dict) and bool(info.context.get(STORED))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def _bounded_duration(value: Any, info: ValidationInfo) -> float:
    seconds = parse_duration(value)
    if seconds > MAX_DURATION and not is_stored(info):
        raise ValueError(f"invalid duration {_short(value)}: at most 365d")
    return seconds


def _positive(value: float, info: ValidationInfo) -> float:
    if value <= 0 and not is_stored(info):
        hint = "; leave it out for no timeout" if info.field_name == "timeout" else ""
        raise ValueError(f"{info.field_name} must be greater than 0{hint}")
    return value


def _reject_bool(value: Any) -> Any:
    # pydantic's lax mode reads true as 1; in YAML that is usually a typo or `yes`/`on`.
    if isinstance(value, bool):
        raise ValueError(
            f"expected a number, got the boolean {str(value).lower()} (YAML reads true, yes and on as booleans)"
        )
    return value


def _whole_number(value: Any) -> Any:
    value = _reject_bool(value)
    # 1e20 (a float in YAML and JSON) would get pydantic's "unable to parse input string as an
    # integer"; as an int it gets the field's own range message.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _within(low: int, high: int, shown_high: str | None = None) -> AfterValidator:
    """A bound checked on new input only (stored definitions predate it; see the module docstring)."""

    def check(value: int, info: ValidationInfo) -> int:
        if not low <= value <= high and not is_stored(info):
            raise ValueError(
                f"{info.field_name} {value} is out of range: it must be between {low:,} and {shown_high or f'{high:,}'}"
            )
        return value

    return AfterValidator(check)


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


def _number_or_text(number: dict[str, Any], pattern: str) -> WithJsonSchema:
    """The JSON Schema of a quantity written as a number or as text with a unit ("30s", "2Gi"):
    what the UI's forms accept (pydantic would say `number` only, as the validators' output is)."""
    return WithJsonSchema({"anyOf": [number, {"type": "string", "pattern": pattern}]})


Duration = Annotated[
    float, BeforeValidator(_bounded_duration),
    _number_or_text({"type": "number", "minimum": 0, "maximum": MAX_DURATION}, DURATION_PATTERN),
]
# A duration where 0 makes no sense (a timeout of 0 would fail every attempt at once).
PositiveDuration = Annotated[
    float, BeforeValidator(_bounded_duration), AfterValidator(_positive),
    _number_or_text({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION}, DURATION_PATTERN),
]
MemoryBytes = Annotated[
    int, BeforeValidator(parse_memory), _within(0, MAX_MEMORY, "1Pi"),
    _number_or_text({"type": "integer", "minimum": 0, "maximum": MAX_MEMORY}, MEMORY_PATTERN),
]
ParamValue = Annotated[str, BeforeValidator(_to_str)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME_LENGTH)]
Integer = Annotated[int, BeforeValidator(_whole_number)]
Number = Annotated[float, BeforeValidator(_reject_bool)]
Priority = Annotated[Integer, _within(*PRIORITY_RANGE)]
ActiveLimit = Annotated[Integer, Field(ge=1), _within(1, MAX_ACTIVE_LIMIT)]

_CRON_FIELDS = (
    ("minute", "0-59"), ("hour", "0-23"), ("day-of-month", "1-31"), ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT, 0 and 7 are Sunday"),
)
_CRON_ALIASES = "@hourly, @daily, @weekly, @monthly, @yearly"


def cron_problem(expr: str) -> str | None:
    """Why `expr` is not a usable 5-field cron (or alias) expression; None if it is.

    croniter also takes 6 and 7 fields (seconds, year); Quartz-style crons copied from
    DolphinScheduler would then fire at the wrong times, so only the 5-field form is allowed.
    """
    fields = expr.split()
    if expr.strip().startswith("@"):
        if not croniter.is_valid(expr.strip()):
            return f"unknown cron alias {expr!r}: use {_CRON_ALIASES} or 5 fields, e.g. '0 2 * * *'"
    elif len(fields) != 5:
        return (
            f"invalid cron expression {expr!r}: expected 5 fields (minute hour day-of-month month "
            f"day-of-week), got {len(fields)}; e.g. '0 2 * * *'"
        )
    else:
        # Each field alone, the others '*', finds the field at fault (croniter's message does not say).
        for i, (label, allowed) in enumerate(_CRON_FIELDS):
            probe = ["*"] * 5
            probe[i] = fields[i]
            try:
                croniter.expand(" ".join(probe))
            except CroniterError as exc:
                reason = _croniter_reason(exc)
                if "out of range" in reason:
                    return f"invalid cron expression {expr!r}: {label} {fields[i]!r} is out of range ({allowed})"
                return f"invalid cron expression {expr!r}: {label} {fields[i]!r} is not valid: {reason}"
        try:
            croniter.expand(expr)
        except CroniterError as exc:
            return f"invalid cron expression {expr!r}: {_croniter_reason(exc)}"
    try:
        croniter(expr.strip(), datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        try:
            croniter.expand(expr.strip(), strict=True)  # says which day and month cannot meet
            why = "no date matches it"
        except CroniterError as exc:
            why = _croniter_reason(exc)
        return f"cron {expr!r} never fires: {why}"
    return None


def _croniter_reason(exc: Exception) -> str:
    """croniter's message without the expression it starts with: "[0 25 * * *] is not acceptable, ..."."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(exc))
    text = re.sub(r"^is not acceptable[.,]?\s*", "", text)
    text = re.sub(r" in field \d+", "", text)  # its index, which the message names better
    return text[:1].lower() + text[1:] if text else "not a valid cron expression"


def _instant(value: date, timezone: str, *, end: bool = False) -> datetime:
    """A schedule's start/end as an aware datetime; a date `end` includes that whole day."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.max if end else time.min)
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))


class Resources(BaseModel):
    """What one task run needs from the executor; it is never started where it does not fit."""

    model_config = ConfigDict(extra="forbid")

    cpu: Number = Field(
        default=1.0, gt=0, le=4096, allow_inf_nan=False,
        description="CPU cores one attempt holds while it runs; fractions are fine, e.g. 0.5 or 4",
    )
    memory: MemoryBytes = Field(
        default=0, ge=0,
        description="memory one attempt holds: bytes, or with a unit, e.g. 512Mi or 2Gi; 0: none reserved",
    )
    gpu: Annotated[Integer, _within(0, MAX_GPU)] = Field(
        default=0, ge=0, description="whole GPUs one attempt holds", json_schema_extra={"maximum": MAX_GPU},
    )


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
    def _valid_cron(cls, v: str, info: ValidationInfo) -> str:
        if len(v) > MAX_CRON_LENGTH and not is_stored(info):
            raise ValueError(f"cron expression is {len(v)} characters long: at most {MAX_CRON_LENGTH} fit")
        problem = cron_problem(v)
        if problem is not None:
            raise ValueError(problem)
        return v

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}: use an IANA name such as 'Asia/Shanghai' or 'UTC'") from None
        return v

    @field_validator("start", "end")
    @classmethod
    def _a_usable_date(cls, v: date | None, info: ValidationInfo) -> date | None:
        if v is None or is_stored(info):
            return v
        day = v.date() if isinstance(v, datetime) else v
        # A far `end` (9999-12-31, "never") is fine: the schedule simply never reaches it.
        too_late = info.field_name == "start" and day > MAX_LOGICAL_DATE
        if day < MIN_LOGICAL_DATE or too_late:
            raise ValueError(
                f"{info.field_name} {v.isoformat()} is out of range: schedules run logical dates from "
                f"{MIN_LOGICAL_DATE} to {MAX_LOGICAL_DATE}"
            )
        return v

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, v: date | None, info: ValidationInfo) -> date | None:
        start, timezone = info.data.get("start"), info.data.get("timezone")
        if v is None or start is None or timezone is None or is_stored(info):
            return v  # a bad start or timezone is reported on its own
        if _instant(v, timezone, end=True) < _instant(start, timezone):
            raise ValueError(
                f"end {v.isoformat()} is before start {start.isoformat()}: the schedule would never fire; "
                "move end after start or leave it out"
            )
        return v


class TaskSpec(BaseModel):
    """One node of a workflow. Keys not listed here belong to the task type's `Params`."""

    model_config = ConfigDict(extra="allow")

    # The descriptions are the web UI's help for the part of a node's form every type shares.
    name: Name = Field(
        description="the task's name, unique in the workflow: letters, digits, _ and -, e.g. train_model; "
        "downstream tasks read its outputs as ${name.key}",
    )
    type: str = Field(description="the task type, e.g. shell, sql or train (GET /api/v1/task-types lists them)")
    description: str = Field(default="", description="what the task does, for people reading the workflow")
    upstream: list[str] = Field(
        default_factory=list, description="tasks that must finish before this one starts, e.g. [extract, clean]",
    )
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="the task's parameters, name -> value, read as ${name}; they override workflow params "
        "of the same name, e.g. {day: '${ds}'}",
    )
    retries: Integer = Field(default=0, ge=0, le=100, description="extra attempts after a failure (0-100)")
    retry_delay: Duration = Field(
        default=0.0,
        description="wait before the first retry: seconds, or with a unit (ms, s, m, h, d), e.g. 30s or 5m",
    )
    # Delay before attempt n+1 is retry_delay * retry_backoff**(n-1); 2.0 gives exponential backoff.
    retry_backoff: Number = Field(
        default=1.0, ge=1.0, le=10.0, allow_inf_nan=False,
        description="multiply the wait by this after each retry (1-10): 1 waits the same each time, 2 doubles it",
    )
    timeout: PositiveDuration | None = Field(
        default=None,
        description="stop an attempt that runs longer than this (per attempt, at most 365d), e.g. 30m or 2h; "
        "empty: no limit",
    )
    priority: Priority = Field(
        default=0,
        description="when tasks compete for capacity, a higher priority starts first (-1,000,000 to 1,000,000)",
        json_schema_extra={"minimum": PRIORITY_RANGE[0], "maximum": PRIORITY_RANGE[1]},
    )
    # When the task may start, given its upstreams' outcomes (Airflow's trigger rules). None: the
    # task type's default (all_success; all_done for `condition`, which branches on failure).
    trigger_rule: Literal["all_success", "all_done", "none_failed", "one_success"] | None = Field(
        default=None,
        description="when the task may start: all_success (every upstream succeeded), all_done (every "
        "upstream ended, whatever the outcome), none_failed (none failed; skipped is fine), one_success "
        "(starts at the first upstream success); empty: the task type's default",
    )
    resources: Resources = Field(default_factory=Resources, description="CPU, memory and GPUs one attempt needs")
    env: dict[str, ParamValue] = Field(
        default_factory=dict,
        description="extra environment variables for the task's process; values may use ${...}, "
        "e.g. {LANG: C.UTF-8}",
    )
    # DANGEROUS opt-in: paste values into the task's code (command, SQL, script, URL) as text, as
    # DolphinScheduler does, instead of passing them as data; a value can then run as code.
    splice_values: bool = Field(
        default=False,
        description="DANGEROUS: paste ${...} values into the command, SQL, script or URL as text, so a value "
        "can run as code; off: values reach the code as data",
    )

    @property
    def config(self) -> dict[str, Any]:
        """The task-type specific keys, as written (before `${...}` resolution)."""
        return dict(self.model_extra or {})

    def retry_wait(self, nth: int) -> float:
        """Seconds to wait before retry `nth` (1 = the first), capped at MAX_DURATION.

        retry_delay * retry_backoff**(nth-1) grows without bound (1d * 10**99 with the largest
        settings), and the engine adds it to a datetime, which cannot go past year 9999.
        """
        try:
            return min(self.retry_delay * self.retry_backoff ** max(0, nth - 1), MAX_DURATION)
        except OverflowError:
            return MAX_DURATION


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
    max_active_tasks: ActiveLimit | None = None
    # At most this many runs of the workflow at once (scheduled, catch-up, backfill, manual);
    # the others wait queued and start earliest logical date first.
    max_active_runs: ActiveLimit | None = None
    # Params whose values are secret (a password, a token): shown as `***` wherever a run or the
    # workflow is shown (logs, `show`, `--json`, exports); see `shoal.spec.secrets`.
    secrets: list[Name] = Field(default_factory=list)
    # Who hears of its runs' failures, successes, timeouts, retries or long runs (spec/alerts.py).
    # None: the project's default rules; []: none at all, whatever the project says.
    alerts: AlertRules | None = None
    tasks: list[TaskSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _secrets_are_params(self, info: ValidationInfo) -> Workflow:
        if is_stored(info):
            return self
        declared = set(self.params).union(*(t.params for t in self.tasks))
        unknown = [name for name in self.secrets if name not in declared]
        if unknown:
            raise ValueError(
                f"secrets names {', '.join(map(repr, unknown))}, which no `params:` declares; a secret is "
                "a parameter: declare it (its value can come at run time with -p)"
            )
        return self

    @classmethod
    def from_stored(cls, data: Any) -> Workflow:
        """A definition read back from the database: the bounds added after it was stored are
        not applied, so every stored version stays readable (see the module docstring)."""
        return cls.model_validate(data, context={STORED: True})

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
