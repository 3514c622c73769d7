"""Workflows: apply from YAML/JSON text, list, show."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response
from shoal.spec.io import MAX_FILE_BYTES

router = APIRouter(prefix=API, tags=["workflows"])


class ApplyRequest(BaseModel):
    """Workflow definitions as the text of a YAML or JSON file."""

    content: str = Field(description="the file's text", max_length=MAX_FILE_BYTES)
    format: str = Field(default="yaml", pattern="^(yaml|json)$", description="yaml or json")
    project: str | None = Field(default=None, description="store into this project instead of the file's")


@router.get("/workflows")
def list_workflows(caller: Caller, store: StoreDep, project: str | None = None, search: str | None = None) -> Response:
    """Workflows of the projects the caller may read."""
    return json_response(services.workflows.list_workflows(store, search=search, project=project, actor=caller))


@router.post("/workflows", status_code=201)
def apply_workflows(caller: Caller, store: StoreDep, body: ApplyRequest) -> Response:
    """Validate and store workflows (a new version only where a definition changed); a file
    that does not validate stores nothing."""
    results = services.workflows.apply_text(store, body.content, body.format, project=body.project, actor=caller)
    return json_response(results, 201)


@router.get("/projects/{project}/workflows/{name}")
def show_workflow(caller: Caller, store: StoreDep, project: str, name: str, version: int | None = None) -> Response:
    """A workflow's definition at a version (default: the current one); secrets read ***."""
    return json_response(services.workflows.show(store, name, project=project, version=version, actor=caller))
