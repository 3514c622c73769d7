"""The entry point executed inside a task process (forked child or warm worker).

The fork server pre-imports this module, so the task registry and pydantic models are warm
before any fork: a python task costs a fork, not an interpreter start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shoal.tasks.base import TaskContext
from shoal.tasks.registry import get_task_type, task_types

# Import every installed task type now, in the fork server, rather than once per task.
task_types()


def run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate the rendered params, build the context and call the task type's `run`."""
    task_type = get_task_type(payload["type"])
    params = task_type.Params.model_validate(payload["params"])
    c = payload["ctx"]
    ctx = TaskContext(
        params=params,
        run_id=c["run_id"],
        task_run_id=c["task_run_id"],
        task=c["task"],
        attempt=c["attempt"],
        workflow=c["workflow"],
        project=c["project"],
        logical_date=datetime.fromisoformat(c["logical_date"]),
        source_dir=c.get("source_dir"),
    )
    outputs = task_type.run(ctx)
    return dict(outputs or {})
