"""The routes of `/api/v1`, one module per resource; each is a thin face over `shoal.services`."""

from __future__ import annotations

from fastapi import APIRouter

from shoal.api.routes import access, alerts, features, meta, models, runs, schedules, stats, task_types, workflows

ROUTERS: tuple[APIRouter, ...] = (
    meta.router, access.router, workflows.router, runs.router, schedules.router, features.router, models.router,
    task_types.router, alerts.router, stats.router,
)

__all__ = ["ROUTERS"]
