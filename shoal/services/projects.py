"""Projects and their members: the boundary of what a user sees and changes.

A project is created on first use by the command line (`workflow apply`, `features import`);
on a shared instance it is created explicitly, and whoever creates it becomes its admin. A
member holds one role in it: viewer (reads), editor (also changes), admin (also manages the
members). Instance admins act in every project without being members.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.errors import Conflict, InvalidInput, NotFound
from shoal.services.users import forget_actors, user_id
from shoal.spec.validate import validate_project_name
from shoal.store import Store, utcnow
from shoal.store.models import project_members, projects, users
from shoal.store.projects import project_id

__all__ = ["ROLES", "ProjectInfo", "add_member", "create_project", "list_projects", "remove_member"]

ROLES = tuple(r.name.lower() for r in Role)  # viewer, editor, admin


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    created_at: datetime
    members: dict[str, str] = field(default_factory=dict)  # user -> role

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created_at": self.created_at.isoformat()}


def _role(role: str) -> Role:
    try:
        return Role[role.upper()]
    except KeyError:
        raise InvalidInput(f"invalid role {role!r}: use one of {', '.join(ROLES)}", field="role") from None


def create_project(store: Store, name: str, *, actor: Actor = LOCAL) -> ProjectInfo:
    """A new, empty project; a user who creates one becomes its admin."""
    validate_project_name(name)
    now = utcnow()
    with store.engine.begin() as conn:
        if conn.execute(select(projects.c.id).where(projects.c.name == name)).scalar() is not None:
            raise Conflict(f"project {name!r} already exists", project=name)
        pid = conn.execute(insert(projects).values(name=name, created_at=now)).inserted_primary_key[0]
        members: dict[str, str] = {}
        if actor.roles is not None:  # a user (the command line is no member of anything)
            conn.execute(insert(project_members).values(
                project_id=pid, user_id=user_id(conn, actor.name), role="admin", created_at=now))
            members[actor.name] = "admin"
    forget_actors(store)  # its creator's new role
    return ProjectInfo(name, now, members)


def list_projects(store: Store, *, actor: Actor = LOCAL) -> list[ProjectInfo]:
    """The projects `actor` holds a role in (every one for an instance admin), with members."""
    return [p for p in _projects(store) if actor.role_in(p.name) is not None]


def _projects(store: Store, name: str | None = None) -> list[ProjectInfo]:
    """Every project (or only `name`) with its members, by name."""
    query = select(projects).order_by(projects.c.name)
    members_query = (select(project_members.c.project_id, users.c.name, project_members.c.role)
                     .join(users, users.c.id == project_members.c.user_id).order_by(users.c.name))
    if name is not None:
        query = query.where(projects.c.name == name)
        members_query = members_query.join(projects, projects.c.id == project_members.c.project_id).where(
            projects.c.name == name)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
        found = conn.execute(members_query).all()
    members: dict[int, dict[str, str]] = {}
    for m in found:
        members.setdefault(m.project_id, {})[m.name] = m.role
    return [ProjectInfo(r.name, r.created_at, members.get(r.id, {})) for r in rows]


def add_member(store: Store, project: str, user: str, role: str, *, actor: Actor = LOCAL) -> ProjectInfo:
    """Give `user` `role` in `project` (or change the role they hold)."""
    wanted = _role(role)
    require(actor, project, Role.ADMIN, "manage members")
    now = utcnow()
    with store.engine.begin() as conn:
        pid, uid = _ids(conn, project, user)
        held = conn.execute(select(project_members.c.role).where(
            project_members.c.project_id == pid, project_members.c.user_id == uid)).scalar()
        if held is None:
            conn.execute(insert(project_members).values(project_id=pid, user_id=uid, role=wanted.name.lower(),
                                                        created_at=now))
        elif held != wanted.name.lower():
            conn.execute(update(project_members).where(
                project_members.c.project_id == pid, project_members.c.user_id == uid).values(role=wanted.name.lower()))
    forget_actors(store)  # a role changed: the API reads it again
    return _info(store, project)


def remove_member(store: Store, project: str, user: str, *, actor: Actor = LOCAL) -> ProjectInfo:
    """Take `user`'s role in `project` away: they see nothing of it any more."""
    require(actor, project, Role.ADMIN, "manage members")
    with store.engine.begin() as conn:
        pid, uid = _ids(conn, project, user)
        gone = conn.execute(delete(project_members).where(
            project_members.c.project_id == pid, project_members.c.user_id == uid)).rowcount
        if not gone:
            raise NotFound(f"{user!r} is not a member of project {project!r}", project=project, user=user)
    forget_actors(store)  # a role changed: the API reads it again
    return _info(store, project)


def _ids(conn: Any, project: str, user: str) -> tuple[int, int]:
    try:
        pid = project_id(conn, project)
    except NotFound:
        raise NotFound(f"no project {project!r}; `shoal project list` shows the projects", project=project) from None
    return pid, user_id(conn, user)


def _info(store: Store, project: str) -> ProjectInfo:
    return _projects(store, project)[0]
