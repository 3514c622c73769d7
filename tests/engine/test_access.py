"""Who may apply what: a workflow's project and every project its tasks reach are checked
against the acting user's roles (the command line acts as the owner of everything)."""

from __future__ import annotations

import pytest

from shoal.client import Client
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.engine.workflows import apply_workflows, list_workflows
from shoal.errors import Forbidden
from shoal.spec.models import Workflow


def _parent(kind: str) -> Workflow:
    return Workflow.model_validate({
        "name": "parent", "project": "p2",
        "tasks": [{"name": "reach", "type": kind, "workflow": "child", "project": "p1"}],
    })


@pytest.mark.parametrize(("kind", "role_in_p1", "allowed"), [
    ("sub_workflow", Role.EDITOR, True),
    ("sub_workflow", Role.VIEWER, False),
    ("sub_workflow", None, False),
    ("dependent", Role.VIEWER, True),
    ("dependent", None, False),
])
def test_a_reference_to_another_project_needs_a_role_there(
    client: Client, kind: str, role_in_p1: Role | None, allowed: bool
) -> None:
    roles = {"p2": Role.EDITOR} | ({"p1": role_in_p1} if role_in_p1 else {})
    ann = Actor("ann", roles)
    if allowed:
        (result,) = apply_workflows(client.store, [(_parent(kind), None)], actor=ann)
        assert result.changed
    else:
        with pytest.raises(Forbidden, match="project 'p1'") as err:
            apply_workflows(client.store, [(_parent(kind), None)], actor=ann)
        assert "p1/child" in str(err.value)
        assert list_workflows(client.store) == []


def test_applying_needs_the_editor_role_in_the_workflows_project(client: Client) -> None:
    task = {"name": "a", "type": "shell", "command": "true"}
    wf = Workflow.model_validate({"name": "w", "project": "p2", "tasks": [task]})
    with pytest.raises(Forbidden, match="viewer"):
        apply_workflows(client.store, [(wf, None)], actor=Actor("bob", {"p2": Role.VIEWER}))
    apply_workflows(client.store, [(wf, None)], actor=LOCAL)


def test_require_orders_the_roles() -> None:
    admin = Actor("a", {"p": Role.ADMIN})
    for role in Role:
        require(admin, "p", role, "do it")
    with pytest.raises(Forbidden):
        require(Actor("v", {"p": Role.VIEWER}), "p", Role.EDITOR, "stop runs")
    with pytest.raises(Forbidden, match="has no role"):
        require(Actor("x", {}), "p", Role.VIEWER, "read runs")
