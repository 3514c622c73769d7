"""Models: list, versions, a version (by number or alias) with its release history, a version's
evaluation report, release, roll back. Registering a bundle reads files where the server runs:
the `release` task does it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, MAX_ID, Caller, Id, StoreDep, Version, json_response

router = APIRouter(prefix=API + "/projects/{project}/models", tags=["models"])
ALIAS = services.models.DEFAULT_ALIAS


class ReleaseRequest(BaseModel):
    version: int = Field(ge=1, le=MAX_ID, description="the version the alias points at after the release")
    alias: str = Field(default=ALIAS, description="the alias to move")


class RollbackRequest(BaseModel):
    alias: str = Field(default=ALIAS, description="the alias to move back")
    to: int | None = Field(default=None, ge=1, le=MAX_ID, description="this version (default: where it pointed before)")


@router.get("")
def list_models(caller: Caller, store: StoreDep, project: str) -> Response:
    """The project's models with their latest version and aliases."""
    return json_response(services.models.list_models(store, project=project, actor=caller))


@router.get("/{name}/versions")
def list_versions(caller: Caller, store: StoreDep, project: str, name: str) -> Response:
    """A model's versions, oldest first, each with its metrics, params and aliases."""
    return json_response(services.models.list_versions(store, name, project=project, actor=caller))


@router.get("/{name}/versions/{version}/evaluation")
def evaluation(caller: Caller, store: StoreDep, project: str, name: str, version: Id) -> Response:
    """The evaluation report stored with a version: ROC and PR curves, the confusion matrix at
    the evaluate task's threshold, feature importance (404 when it was registered without one)."""
    return json_response(services.models.get_evaluation(store, name, version, project=project, actor=caller))


@router.get("/{name}")
def show_model(
    caller: Caller, store: StoreDep, project: str, name: str,
    version: Version = None, alias: str | None = None,
) -> Response:
    """A version by number or alias (neither: the latest) with the model's release history."""
    return json_response(services.models.get_version(store, name, version=version, alias=alias, project=project,
                                                     actor=caller))


@router.get("/{name}/releases")
def release_history(caller: Caller, store: StoreDep, project: str, name: str, alias: str | None = None) -> Response:
    """Every release and rollback of the model (of one alias), oldest first."""
    return json_response(services.models.history(store, name, alias=alias, project=project, actor=caller))


@router.post("/{name}/release")
def release(caller: Caller, store: StoreDep, project: str, name: str, body: ReleaseRequest) -> Response:
    """Point an alias at a version (refused, alias unmoved, if its artifact is damaged); model
    servers watching the alias swap to it."""
    return json_response(services.models.release(store, name, body.version, alias=body.alias, project=project,
                                                 actor=caller))


@router.post("/{name}/rollback")
def rollback(caller: Caller, store: StoreDep, project: str, name: str, body: RollbackRequest) -> Response:
    """Move an alias back to where it pointed before its current release (or to version `to`)."""
    return json_response(services.models.rollback(store, name, alias=body.alias, to=body.to, project=project,
                                                  actor=caller))
