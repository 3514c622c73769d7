"""The entry point executed inside a task process (forked child or warm worker).

The fork server pre-imports this module, so the task registry, pydantic and the `python` task
type are warm before any fork: a python task costs a fork, not an interpreter start. Other
types' modules (SQLAlchemy and DuckDB for `sql`, the ML libraries for `train`...) are imported
by the fork server once a task of that type has run (`Launch.warm`), not before: a fork costs
in proportion to the server's memory, so workflows that do not use them do not pay for them.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from shoal.spec.templating import REFERENCES_CHECKED
from shoal.tasks.base import TaskContext
from shoal.tasks.registry import get_task_type

# Found now, in the fork server, rather than in every task process.
get_task_type("python")


def run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """Validate the rendered params, build the context and call the task type's `run`."""
    task_type = get_task_type(payload["type"])
    if payload.get("store_env"):
        # Only for shoal's own types that record models and feature sets (`needs_store`): a
        # forked child ends with the task, and a warm worker restores its environment after it.
        os.environ.update(payload["store_env"])
    # Validated by the engine already; where the code fields' references stand was checked at apply.
    params = task_type.Params.model_validate(payload["params"], context={REFERENCES_CHECKED: True})
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
        values=c.get("values"),
    )
    outputs = task_type.run(ctx)
    return dict(outputs or {})
