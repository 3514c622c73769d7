"""The routes of `/api/v1`, one module per resource; each is a thin face over `shoal.services`."""

from __future__ import annotations

from fastapi import APIRouter

from shoal.api.routes import alerts, meta, runs, schedules, workflows

ROUTERS: tuple[APIRouter, ...] = (meta.router, workflows.router, runs.router, schedules.router, alerts.router)

__all__ = ["ROUTERS"]
