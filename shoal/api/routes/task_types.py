"""Task types: what the web UI builds its palette and node forms from.

They belong to no project: any user with a token may read them (`Caller` only authenticates).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from shoal import services
from shoal.api.deps import API, Caller, json_response

router = APIRouter(prefix=API, tags=["task types"])


@router.get("/task-types")
def list_task_types(caller: Caller) -> Response:
    """`{"groups": [{name, title}], "common": <JSON Schema of every task's keys>, "items": [task types]}`:
    each type with its group, description and params' JSON Schema; types whose extra is not
    installed are listed with `available: false` and the extra to install."""
    return json_response(services.task_types.catalog())


@router.get("/task-types/{name}")
def get_task_type(caller: Caller, name: str) -> Response:
    """One task type, as listed (404 for a name no installed package declares)."""
    return json_response(services.task_types.get_task_type(name))
