"""Alerts: the deliveries recorded for runs, and a project's default alert rules."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shoal import services
from shoal.api.deps import API, Caller, StoreDep, json_response

router = APIRouter(prefix=API, tags=["alerts"])


class AlertRulesRequest(BaseModel):
    """A project's default alert rules, as a workflow's `alerts:` holds them (docs/alerts.md)."""

    alerts: list[dict[str, Any]] = Field(
        description="rules: {on: [failure|success|timeout|retry|long_running], after: '30m' (long_running), "
                    "webhook: 'https://...', email: ['a@example.com']}",
        max_length=50,
    )


@router.get("/alerts")
def list_alerts(
    caller: Caller, store: StoreDep, project: str | None = None, workflow: str | None = None,
    run: int | None = None, state: Literal["pending", "sent", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> Response:
    """Alert deliveries, newest first, of the projects the caller may read: event, target
    (webhook URLs redacted to their host), state, tries and the reason of the last failure."""
    return json_response(services.alerts.list_deliveries(
        store, project=project, workflow=workflow, run=run, state=state, limit=limit, actor=caller))


@router.get("/projects/{project}/alerts")
def show_project_alerts(caller: Caller, store: StoreDep, project: str) -> Response:
    """The project's default alert rules (project admins)."""
    return json_response(services.alerts.project_alerts(store, project, actor=caller))


@router.put("/projects/{project}/alerts")
def set_project_alerts(caller: Caller, store: StoreDep, project: str, body: AlertRulesRequest) -> Response:
    """Replace the project's default alert rules; workflows without `alerts:` of their own follow
    them. Rules that do not validate change nothing (422, naming each bad field)."""
    return json_response(services.alerts.set_project_alerts(store, project, body.alerts, actor=caller))


@router.delete("/projects/{project}/alerts")
def clear_project_alerts(caller: Caller, store: StoreDep, project: str) -> Response:
    """Remove the project's default alert rules."""
    return json_response(services.alerts.clear_project_alerts(store, project, actor=caller))
