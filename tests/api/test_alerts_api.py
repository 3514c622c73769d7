"""Alerts over the REST API: deliveries of the caller's projects, a project's default rules."""

from __future__ import annotations

import pytest

from shoal.store import Store
from tests.alerts.conftest import a_run, pending
from tests.api.conftest import Call, error_of

HOOK = "https://hooks.example.com/services/T0K3N"


@pytest.fixture
def recorded(store: Store, api: dict[str, Call]) -> dict[str, Call]:
    pending(store, a_run(store, project="fraud"), [("webhook", HOOK)])
    pending(store, a_run(store, project="default"), [("email", "oncall@example.com")])
    return api


def test_deliveries_are_listed_for_the_callers_projects(recorded: dict[str, Call]) -> None:
    listed = recorded["bob"]("GET", "/api/v1/alerts").json()
    assert [(d["project"], d["target"], d["state"]) for d in listed] == [("fraud", "https://hooks.example.com/…",
                                                                          "pending")]
    assert "T0K3N" not in str(recorded["root"]("GET", "/api/v1/alerts").json())
    assert recorded["carol"]("GET", "/api/v1/alerts").json() == []
    assert error_of(recorded["carol"]("GET", "/api/v1/alerts?project=fraud"), 403)["code"] == "forbidden"
    assert error_of(recorded["bob"]("GET", "/api/v1/alerts?state=lost"), 422)["code"] == "invalid_input"


def test_a_projects_default_rules_are_put_read_and_deleted_by_admins(recorded: dict[str, Call]) -> None:
    rules = {"alerts": [{"on": ["failure"], "webhook": HOOK}]}
    assert error_of(recorded["alice"]("PUT", "/api/v1/projects/fraud/alerts", json=rules), 403)
    r = recorded["root"]("PUT", "/api/v1/projects/fraud/alerts", json=rules)
    assert r.status_code == 200, r.text
    assert recorded["root"]("GET", "/api/v1/projects/fraud/alerts").json() == {"project": "fraud", **rules}
    bad = recorded["root"]("PUT", "/api/v1/projects/fraud/alerts", json={"alerts": [{"on": ["nope"], "webhook": HOOK}]})
    err = error_of(bad, 422)
    assert err["code"] == "spec_error" and err["details"]["problems"][0]["field"] == "alerts[0].on"
    assert recorded["root"]("DELETE", "/api/v1/projects/fraud/alerts").json() == {"project": "fraud", "alerts": []}
    assert error_of(recorded["root"]("GET", "/api/v1/projects/nope/alerts"), 404)


def test_the_cli_against_a_server_reads_the_same_deliveries_and_rules(recorded: dict[str, Call], store: Store) -> None:
    import httpx
    from pydantic import SecretStr
    from starlette.testclient import TestClient

    from shoal.api.app import create_app
    from shoal.services import alerts, users
    from shoal.services.remote import Remote
    from shoal.services.remote._client import Api

    client = TestClient(create_app(store))

    def in_process(request: httpx.Request) -> httpx.Response:  # the API in-process, under the remote face
        r = client.request(request.method, str(request.url), headers=dict(request.headers), content=request.content)
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)

    transport = httpx.MockTransport(in_process)
    remote = Remote(Api("http://shoal.test", SecretStr(users.create_token(store, "root").token), transport=transport))
    assert remote.alerts.list_deliveries(remote.api) == alerts.list_deliveries(store)
    rules = [{"on": ["failure"], "webhook": HOOK}]
    assert remote.alerts.set_project_alerts(remote.api, "fraud", rules) == alerts.project_alerts(store, "fraud")
    assert remote.alerts.project_alerts(remote.api, "fraud").alerts == rules
    assert remote.alerts.clear_project_alerts(remote.api, "fraud").alerts == []
