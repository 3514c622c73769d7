"""Projects: the namespace every workflow, feature table and feature set belongs to."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from shoal.errors import NotFound
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store.db import utcnow
from shoal.store.models import projects

__all__ = ["DEFAULT_PROJECT", "project_id"]


def project_id(conn: Connection, name: str, *, create: bool = False) -> int:
    """The id of project `name`; created on first use when `create` (apply, import, deploy)."""
    pid = conn.execute(select(projects.c.id).where(projects.c.name == name)).scalar()
    if pid is None:
        if not create:
            raise NotFound(f"project {name!r} does not exist")
        pid = conn.execute(insert(projects).values(name=name, created_at=utcnow())).inserted_primary_key[0]
    return int(pid)
