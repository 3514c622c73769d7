"""Projects and their members, users and API tokens (the CLI's `shoal project|user|token`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, Id, StoreDep, json_response

router = APIRouter(prefix=API)
Role = Literal["viewer", "editor", "admin"]


class ProjectRequest(BaseModel):
    name: str = Field(description="the new project's name; its creator becomes its admin")


class MemberRequest(BaseModel):
    user: str = Field(description="the user's name")
    role: Role = Field(description="viewer reads; editor also applies workflows and starts runs; admin also "
                                   "manages members")


class UserRequest(BaseModel):
    name: str = Field(description="letters, digits and _ . @ -")
    admin: bool = Field(default=False, description="an instance admin may do everything")


class TokenRequest(BaseModel):
    user: str = Field(description="whose token (yours, unless you are an instance admin)")
    name: str = Field(default="", max_length=200, description="what it is for")
    expires_in: str | None = Field(default=None, description="e.g. 30d, 12h (default: until revoked)")


@router.get("/projects", tags=["projects"])
def list_projects(caller: Caller, store: StoreDep) -> Response:
    """The projects the caller holds a role in (every one for an instance admin), with members."""
    return json_response(services.projects.list_projects(store, actor=caller))


@router.post("/projects", tags=["projects"], status_code=201)
def create_project(caller: Caller, store: StoreDep, body: ProjectRequest) -> Response:
    return json_response(services.projects.create_project(store, body.name, actor=caller), 201)


@router.put("/projects/{project}/members", tags=["projects"])
def add_member(caller: Caller, store: StoreDep, project: str, body: MemberRequest) -> Response:
    """Give a user a role in the project (or change it); the project's admins only."""
    return json_response(services.projects.add_member(store, project, body.user, body.role, actor=caller))


@router.delete("/projects/{project}/members/{user}", tags=["projects"])
def remove_member(caller: Caller, store: StoreDep, project: str, user: str) -> Response:
    return json_response(services.projects.remove_member(store, project, user, actor=caller))


@router.get("/users", tags=["users"])
def list_users(caller: Caller, store: StoreDep) -> Response:
    """Every user with their projects (instance admins only)."""
    return json_response(services.users.list_users(store, actor=caller))


@router.post("/users", tags=["users"], status_code=201)
def add_user(caller: Caller, store: StoreDep, body: UserRequest) -> Response:
    return json_response(services.users.add_user(store, body.name, admin=body.admin, actor=caller), 201)


@router.delete("/users/{name}", tags=["users"], status_code=204, response_class=Response)
def remove_user(caller: Caller, store: StoreDep, name: str) -> Response:
    """Remove a user with their tokens and memberships (the last instance admin stays)."""
    services.users.remove_user(store, name, actor=caller)
    return Response(status_code=204)


@router.get("/tokens", tags=["users"])
def list_tokens(caller: Caller, store: StoreDep, user: str | None = None) -> Response:
    """Tokens (never their secrets): the caller's, or anyone's for an instance admin."""
    return json_response(services.users.list_tokens(store, user=user, actor=caller))


@router.post("/tokens", tags=["users"], status_code=201)
def create_token(caller: Caller, store: StoreDep, body: TokenRequest) -> Response:
    """A new token: `token` is its secret, in this answer only (it is stored hashed)."""
    return json_response(services.users.create_token(store, body.user, name=body.name, expires_in=body.expires_in,
                                                     actor=caller), 201)


@router.delete("/tokens/{token_id}", tags=["users"])
def revoke_token(caller: Caller, store: StoreDep, token_id: Id) -> Response:
    """Revoke a token at once (revoking one already revoked changes nothing)."""
    return json_response(services.users.revoke_token(store, token_id, actor=caller))
