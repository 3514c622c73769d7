"""Shared by the benchmarks that bulk-insert a run history into shoal's database (api.py, ui.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shoal.store.models import workflow_versions, workflows


def current_versions(store: Any) -> dict[str, tuple[int, int]]:
    """Each workflow's name -> (workflows.id, the id of its current workflow_versions row): what
    a runs row points at."""
    with store.engine.connect() as conn:
        return {r.name: (r.id, r.vid) for r in conn.execute(
            select(workflows.c.name, workflows.c.id, workflow_versions.c.id.label("vid"))
            .join(workflow_versions, (workflow_versions.c.workflow_id == workflows.c.id)
                  & (workflow_versions.c.version == workflows.c.current_version)))}
