"""Building what an attempt runs: parameters rendered into a `Launch`, or why it cannot start.

Pure with respect to the database: `Launcher.prepare` reads the in-memory run and returns a
`Launch`, or raises `CannotStart` with the reason (a reference that does not resolve, params the
task type rejects). The driver records that failure; nothing here writes anything.

Values are data: the task's code fields stay as written and their references' values travel in
`ctx.values` (see `shoal.tasks.base.render_params`); env values are rendered as text, which the
process gets as environment variables, never as code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shoal.engine.paths import attempt_files
from shoal.engine.runtime import ActiveRun, TaskState
from shoal.errors import ShoalError
from shoal.executors.base import Launch
from shoal.spec.secrets import mask_value, secret_values
from shoal.spec.templating import Scope, build_builtins, render_value
from shoal.store.retry import DATABASE_AWAY
from shoal.tasks.base import TaskContext, TaskParams, render_params

TASK_TARGET = "shoal.tasks.runtime:run_task"


class CannotStart(Exception):  # noqa: N818 - a decision, not a failure of the engine
    """An attempt that cannot start: the task fails with `reason`, without retrying, since every
    attempt would fail the same way. Internal to the engine: the driver records it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Outputs(Mapping[str, Mapping[str, Any]]):
    """Upstream outputs as the templating Scope wants them, without copying the run's tasks."""

    def __init__(self, run: ActiveRun) -> None:
        self._tasks = run.tasks

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return self._tasks[key].outputs

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)


class Launcher:
    """Renders tasks of a driver's runs for their attempts.

    Args:
        logs_dir: where attempts' logs and result files go.
        settings_env: SHOAL_* settings every task process sees (SHOAL_HOME, artifacts).
        store_env: the metadata database's and online store's URLs, for `needs_store` types only.
    """

    def __init__(self, logs_dir: Path, settings_env: dict[str, str], store_env: dict[str, str]) -> None:
        self.logs_dir = logs_dir
        self.settings_env = settings_env
        self.store_env = store_env

    def scope(self, run: ActiveRun, ts: TaskState, attempt: int) -> Scope:
        spec = run.spec_of(ts.name)
        return Scope(
            run_params=run.params, task_params=spec.params, workflow_params=run.spec.params,
            builtins=build_builtins(
                run.logical_date, run.id, run.spec.name, run.spec.project, task=ts.name, attempt=attempt
            ),
            outputs=Outputs(run), logical_date=run.logical_date,
        )

    def render(self, run: ActiveRun, ts: TaskState, scope: Scope) -> tuple[TaskParams, dict[str, Any] | None]:
        """The task's params for one attempt, and the values of the references in its code
        fields (None when `splice_values` rendered those as text)."""
        return render_params(run.types[ts.name], run.spec_of(ts.name), scope)

    def context(self, run: ActiveRun, ts: TaskState, attempt: int, params: Any, **extra: Any) -> TaskContext:
        return TaskContext(
            params=params, run_id=run.id, task_run_id=ts.id, task=ts.name, attempt=attempt,
            workflow=run.spec.name, project=run.spec.project, logical_date=run.logical_date,
            source_dir=run.source_dir, **extra,
        )

    def prepare(self, run: ActiveRun, ts: TaskState) -> Launch:
        """What the executor starts for the task's next attempt; raises `CannotStart`."""
        spec = run.spec_of(ts.name)
        task_type = run.types[ts.name]
        attempt = ts.attempt + 1
        try:
            scope = self.scope(run, ts, attempt)
            params, values = self.render(run, ts, scope)
            env = {k: str(v) for k, v in render_value(dict(spec.env), scope).items()}
            env.update(self.task_env(run, ts, attempt))
            log_file, result_file = attempt_files(self.logs_dir, run.id, ts.name, attempt)
            common: dict[str, Any] = dict(
                key=f"{ts.id}:{attempt}", log_path=log_file, result_path=result_file, env=env, timeout=spec.timeout,
                mask=list(self.secrets_of(run, ts)),
            )
            if task_type.kind == "command":
                cmd = task_type.command(self.context(run, ts, attempt, params, values=values))
                env.update(cmd.env)
                # A relative cwd is relative to the apply directory, wherever the driver runs.
                cwd = os.path.join(run.work_dir, cmd.cwd) if cmd.cwd and run.work_dir else cmd.cwd or run.work_dir
                return Launch(kind="command", argv=cmd.argv, cwd=cwd, **common)
            payload = {
                "type": spec.type,
                "params": params.model_dump(mode="json"),
                "ctx": {
                    "run_id": run.id, "task_run_id": ts.id, "task": ts.name, "attempt": attempt,
                    "workflow": run.spec.name, "project": run.spec.project,
                    "logical_date": run.logical_date.isoformat(), "source_dir": run.source_dir,
                    "values": values,
                },
                "store_env": self.store_env if task_type.needs_store else None,
            }
            return Launch(
                kind="python", target=TASK_TARGET, payload=payload, isolation=task_type.isolation(params),
                cwd=run.work_dir, sys_path=run.search_path, warm=[type(task_type).__module__], **common,
            )
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - what cannot be rendered fails this task, not the driver
            raise CannotStart(f"cannot start: {one_line(exc)}") from exc

    def run_inline(self, run: ActiveRun, ts: TaskState, attempt: int) -> tuple[dict[str, Any], str | None]:
        """Run an inline task (switch, condition) here: its outputs, and its error if it could
        not decide (None: it succeeded). Secrets are masked in both."""
        secrets = self.secrets_of(run, ts)
        try:
            scope = self.scope(run, ts, attempt)
            params, _ = self.render(run, ts, scope)
            upstream_states = {u: str(run.tasks[u].state) for u in run.up[ts.name]}
            ctx = self.context(run, ts, attempt, params, upstream_states=upstream_states, scope=scope)
            return mask_value(run.types[ts.name].run(ctx), secrets), None
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - a decision it cannot make fails this task, not the driver
            return {}, mask_value(one_line(exc), secrets)

    def task_env(self, run: ActiveRun, ts: TaskState, attempt: int) -> dict[str, str]:
        return {
            **self.settings_env,
            "SHOAL_RUN_ID": str(run.id), "SHOAL_TASK": ts.name, "SHOAL_ATTEMPT": str(attempt),
            "SHOAL_WORKFLOW": run.spec.name, "SHOAL_PROJECT": run.spec.project,
            "SHOAL_LOGICAL_DATE": run.logical_date.isoformat(), "SHOAL_DS": run.logical_date.date().isoformat(),
        }

    def secrets_of(self, run: ActiveRun, ts: TaskState) -> tuple[str, ...]:
        """The values of the run's secret params as this task sees them, longest first: written
        as `***` in its log, error and outputs. Cached on the task (params do not change)."""
        if not run.spec.secrets:
            return ()
        if ts.secrets is None:
            try:
                ts.secrets = secret_values(run.spec.secrets, self.scope(run, ts, max(ts.attempt, 1)))
            except ShoalError:
                ts.secrets = ()
        return ts.secrets


def one_line(exc: BaseException) -> str:
    """An exception as one line for a task's error: pydantic errors by field, others by type."""
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            parts.append(f"{loc}: {e['msg']}" if loc else e["msg"])
        return "; ".join(parts)
    text = " ".join(str(exc).split())
    # shoal's own errors say what is wrong; anything else is named by its type too.
    return text if isinstance(exc, ShoalError) else f"{type(exc).__name__}: {text}"


def db_text(text: str | None) -> str | None:
    """Text as every database can store it (PostgreSQL text cannot hold NUL bytes, and an error
    may quote a binary response body)."""
    return None if text is None else text.replace("\x00", "\\x00")


__all__ = ["TASK_TARGET", "CannotStart", "Launcher", "Outputs", "db_text", "one_line"]
