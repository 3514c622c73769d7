"""services.workflows: apply, list, show, export, delete, and who may do them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from shoal.errors import Conflict, Forbidden, InvalidInput, NotFound
from shoal.services import Actor, Role, runs, workflows
from shoal.services.workflows import WorkflowDetail, WorkflowSummary
from shoal.store import Store

SECRET_WF = """\
    name: s
    description: holds a token
    params: {token: hunter2, region: eu}
    secrets: [token]
    schedule: {cron: "0 2 * * *", timezone: UTC}
    tasks: [{name: a, type: shell, command: 'echo ${region}'}]
"""


def test_apply_list_show_export_delete(store: Store, write: Callable[[str, str], Path]) -> None:
    path = write("s", SECRET_WF)
    (first,) = workflows.apply_path(store, path)
    assert (first.project, first.name, first.version, first.changed) == ("default", "s", 1, True)
    assert workflows.apply_path(store, path)[0].changed is False

    (row,) = workflows.list_workflows(store)
    assert row == WorkflowSummary(project="default", name="s", version=1, description="holds a token", owner="local",
                                  schedule="0 2 * * *", paused=False, last_run_state=None,
                                  updated_at=row.updated_at)

    detail = workflows.show(store, "s")
    assert detail.definition["params"] == {"token": "***", "region": "eu"}  # a secret never leaves
    assert detail.schedule is not None and detail.schedule["cron"] == "0 2 * * *"
    text = workflows.export(store, "s", "yaml")
    assert "hunter2" not in text and "***" in text
    path.write_text(text)
    assert workflows.apply_path(store, path)[0].changed is False  # the stored secret is kept
    with pytest.raises(InvalidInput, match="--format"):
        workflows.export(store, "s", "toml")

    workflows.delete(store, "s")
    assert workflows.list_workflows(store) == []
    with pytest.raises(NotFound, match="'s' not found"):
        workflows.show(store, "s")


def test_delete_is_refused_while_a_run_is_active(store: Store, write: Callable[[str, str], Path]) -> None:
    workflows.apply_path(store, write("s", SECRET_WF))
    runs.trigger(store, "s")
    with pytest.raises(Conflict, match="active run"):
        workflows.delete(store, "s")
    assert [w.name for w in workflows.list_workflows(store)] == ["s"]


def test_an_actor_sees_and_changes_only_what_its_roles_allow(store: Store, write: Callable[[str, str], Path]) -> None:
    for project in ("p1", "p2"):
        workflows.apply_path(store, write("s", SECRET_WF), project=project)
    viewer = Actor("ann", {"p1": Role.VIEWER})
    assert [w.project for w in workflows.list_workflows(store, actor=viewer)] == ["p1"]
    assert workflows.show(store, "s", project="p1", actor=viewer).name == "s"
    with pytest.raises(Forbidden):
        workflows.show(store, "s", project="p2", actor=viewer)
    with pytest.raises(Forbidden):
        workflows.delete(store, "s", project="p1", actor=viewer)
    with pytest.raises(Forbidden):
        workflows.apply_path(store, write("s", SECRET_WF), project="p1", actor=viewer)
    assert len(workflows.list_workflows(store)) == 2  # nothing was deleted or applied


def test_results_serialise_as_the_api_will_return_them(store: Store, write: Callable[[str, str], Path]) -> None:
    workflows.apply_path(store, write("s", SECRET_WF))
    assert b'"name":"s"' in TypeAdapter(list[WorkflowSummary]).dump_json(workflows.list_workflows(store))
    dumped = TypeAdapter(WorkflowDetail).dump_json(workflows.show(store, "s"))
    assert b'"token":"***"' in dumped and b"hunter2" not in dumped


def test_format_of_suffix() -> None:
    assert [workflows.format_of_suffix(s) for s in (".yml", ".YAML", ".json", ".py", ".txt")] == [
        "yaml", "yaml", "json", "py", None,
    ]
