"""Workflows: apply or validate YAML/JSON text, list a page, show, versions, restore, diff, export, delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, MAX_ID, Caller, Limit, StoreDep, Version, json_response
from shoal.engine.workflows import ScheduleState
from shoal.errors import InvalidInput
from shoal.spec.io import MAX_FILE_BYTES

router = APIRouter(prefix=API, tags=["workflows"])
ONE = "/projects/{project}/workflows/{name}"
MAX_FILES = 1000  # of one apply: a directory of workflows (the body's size is capped too, api.limits)


class WorkflowText(BaseModel):
    """Workflow definitions as the text of a YAML or JSON file."""

    content: str = Field(description="the file's text", max_length=MAX_FILE_BYTES)
    format: Literal["yaml", "json"] = Field(default="yaml", description="yaml or json")


class WorkflowFile(WorkflowText):
    """One file of several applied together (a directory)."""

    name: str = Field(description="the file's name, as problems name it", min_length=1, max_length=1000)


class ApplyRequest(BaseModel):
    """Either `content` (one file's text) or `files` (several, applied all or none, as a directory)."""

    content: str | None = Field(default=None, description="the file's text", max_length=MAX_FILE_BYTES)
    format: Literal["yaml", "json"] = Field(default="yaml", description="yaml or json (of `content`)")
    files: list[WorkflowFile] | None = Field(default=None, min_length=1, max_length=MAX_FILES,
                                             description="several files, stored in one transaction or not at all")
    project: str | None = Field(default=None, description="store into this project instead of the file's")


@router.get("/workflows")
def list_workflows(
    caller: Caller, store: StoreDep, project: str | None = None, search: str | None = None,
    schedule: Annotated[ScheduleState | None, Query(description="active, paused or none (no schedule)")] = None,
    last_state: Annotated[str | None, Query(description="the newest run's state; none: never run")] = None,
    cursor: str | None = None, limit: Limit = 50,
) -> Response:
    """Workflows of the projects the caller may read, by project and name, a page at a time:
    pass `next_cursor` back as `cursor` for the next page. `search` matches name, description
    or owner."""
    return json_response(services.workflows.workflows_page(
        store, cursor=cursor, limit=limit, search=search, project=project, schedule=schedule,
        last_state=last_state, actor=caller))


@router.post("/workflows", status_code=201)
def apply_workflows(caller: Caller, store: StoreDep, body: ApplyRequest) -> Response:
    """Validate and store workflows (a new version only where a definition changed); a file
    that does not validate stores nothing. With `files`, every file is validated before any is
    stored, and all are stored in one transaction (a directory's apply)."""
    if (body.content is None) == (body.files is None):
        said = "send either content (one file's text) or files (several), not both and not neither"
        raise InvalidInput(f"content: {said}", field="content", problems=[{"field": "content", "message": said}])
    if body.files is not None:
        results = services.workflows.apply_files(
            store, [(f.name, f.content, f.format) for f in body.files], project=body.project, actor=caller)
    else:
        results = services.workflows.apply_text(store, body.content or "", body.format, project=body.project,
                                                actor=caller)
    return json_response(results, 201)


@router.post("/workflows/validate")
def validate_workflows(caller: Caller, body: WorkflowText) -> Response:
    """Check workflow text as applying it would, storing nothing: 200 with the workflows' names,
    or 422 `spec_error` listing every problem with its line, task and field."""
    return json_response({"valid": True, "workflows": services.workflows.validate_text(body.content, body.format)})


@router.get(ONE)
def show_workflow(caller: Caller, store: StoreDep, project: str, name: str,
                  version: Version = None) -> Response:
    """A workflow's definition at a version (default: the current one); secrets read ***."""
    return json_response(services.workflows.show(store, name, project=project, version=version, actor=caller))


@router.delete(ONE, status_code=204, response_class=Response)
def delete_workflow(caller: Caller, store: StoreDep, project: str, name: str) -> Response:
    """Delete a workflow with its versions, schedule and finished runs (409 while runs are active)."""
    services.workflows.delete(store, name, project=project, actor=caller)
    return Response(status_code=204)


@router.get(f"{ONE}/versions")
def workflow_versions(caller: Caller, store: StoreDep, project: str, name: str) -> Response:
    """The workflow's versions, newest first."""
    return json_response(services.workflows.versions(store, name, project=project, actor=caller))


@router.post(f"{ONE}/versions/{{version}}/restore")
def restore_version(
    caller: Caller, store: StoreDep, project: str, name: str, version: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    """Store version `version`'s definition (its schedule too) as the workflow's next version;
    `changed` false when the current version already is that definition."""
    return json_response(services.workflows.restore(store, name, version, project=project, actor=caller))


@router.get(f"{ONE}/diff")
def workflow_diff(
    caller: Caller, store: StoreDep, project: str, name: str, old: Annotated[int, Query(ge=1, le=MAX_ID)],
    new: Version = None,
) -> Response:
    """A unified diff of the YAML of version `old` and version `new` (default: the current one)."""
    return json_response(services.workflows.diff(store, name, old, new, project=project, actor=caller))


@router.get(f"{ONE}/export", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def export_workflow(
    caller: Caller, store: StoreDep, project: str, name: str,
    format: Literal["yaml", "json", "py"] = "yaml", version: Version = None,
) -> Response:
    """The workflow as a YAML, JSON or Python SDK file; applying it back changes nothing."""
    text = services.workflows.export(store, name, format, project=project, version=version, actor=caller)
    return Response(text, media_type="text/plain; charset=utf-8")
