"""Who may do what in which project: the one place every service asks before it acts.

Projects are namespaces *and* a boundary: a workflow reaches another project's workflows only
through an explicit reference (`sub_workflow` or `dependent` with a literal `project:`), and
whoever applies it must hold a role in that project too, checked when the workflow is applied.
A run is addressed within its project: `runs stop 7` in project `default` does not find a run of
project `p1`.

Roles are ordered: a viewer reads, an editor also changes (applies workflows, starts and stops
runs), an admin also manages members. The command line acts as `LOCAL` (every role everywhere:
it is the machine's owner); the REST API builds an `Actor` from the caller's token and roles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from shoal.errors import Forbidden


class Role(IntEnum):
    """A role in a project; a higher one includes the lower ones."""

    VIEWER = 1  # reads workflows, runs, logs, models
    EDITOR = 2  # also applies workflows, starts, stops and reruns runs; references the project
    ADMIN = 3  # also manages the project's members


@dataclass(frozen=True)
class Actor:
    """Who is acting: a name, and the role held in each project (None: every role everywhere)."""

    name: str
    roles: Mapping[str, Role] | None = field(default=None)

    def role_in(self, project: str) -> Role | None:
        if self.roles is None:
            return Role.ADMIN
        return self.roles.get(project)


LOCAL = Actor("local")  # the command line: the owner of this machine's shoal


def require(actor: Actor, project: str, role: Role, doing: str) -> None:
    """Raise Forbidden unless `actor` holds at least `role` in `project`."""
    held = actor.role_in(project)
    if held is None or held < role:
        has = f"is {held.name.lower()}" if held is not None else "has no role"
        raise Forbidden(
            f"{actor.name} may not {doing}: that needs the {role.name.lower()} role in project "
            f"{project!r}, where {actor.name} {has}; ask an admin of {project!r}",
            project=project, role=role.name.lower(), actor=actor.name,
        )


def require_instance_admin(actor: Actor, doing: str) -> None:
    """Raise Forbidden unless `actor` administers the whole instance (users, tokens of others,
    new admins): the command line, or a user created as an admin."""
    if actor.roles is not None:
        raise Forbidden(f"{actor.name} may not {doing}: that needs an instance admin; ask one",
                        actor=actor.name)
