"""Alert deliveries and a project's default alert rules over the API."""

from __future__ import annotations

from typing import Any

from shoal.services.alerts import DeliveryInfo, ProjectAlerts, load_rules
from shoal.services.remote._client import decode, part
from shoal.services.remote._face import Face

__all__ = ["Alerts"]


class Alerts(Face):
    load_rules = staticmethod(load_rules)  # the rules file is read here, on the user's machine

    def list_deliveries(
        self, store: Any, *, project: str | None = None, workflow: str | None = None, run: int | None = None,
        state: str | None = None, limit: int = 50,
    ) -> list[DeliveryInfo]:
        answer = self.api.get("/alerts", project=project, workflow=workflow, run=run, state=state, limit=limit)
        return decode(list[DeliveryInfo], answer)

    def project_alerts(self, store: Any, project: str) -> ProjectAlerts:
        return decode(ProjectAlerts, self.api.get(f"/projects/{part(project)}/alerts"))

    def set_project_alerts(self, store: Any, project: str, rules: Any, *, source: str | None = None) -> ProjectAlerts:
        answer = self.api.request("PUT", f"/projects/{part(project)}/alerts", json={"alerts": rules})
        return decode(ProjectAlerts, answer.json())

    def clear_project_alerts(self, store: Any, project: str) -> ProjectAlerts:
        return decode(ProjectAlerts, self.api.request("DELETE", f"/projects/{part(project)}/alerts").json())
