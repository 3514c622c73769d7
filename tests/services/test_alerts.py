"""The alerts service on SQLite and PostgreSQL: who sees which deliveries, and a project's
default rules (admins only, checked like a workflow's, nothing changed by bad input)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.engine.access import Actor
from shoal.errors import Forbidden, InvalidInput, NotFound
from shoal.services import alerts, users
from shoal.spec import SpecError
from shoal.store import Store
from tests.alerts.conftest import a_run, pending
from tests.conftest import add_team

HOOK = "https://hooks.example.com/services/T0K3N"


@pytest.fixture
def team(store: Store) -> Store:
    """root, alice (editor of fraud), bob (viewer of fraud), carol (no project); one failure
    alert recorded in each of `fraud` and `default`."""
    add_team(store)
    pending(store, a_run(store, project="fraud"), [("webhook", HOOK)])
    pending(store, a_run(store, project="default"), [("email", "oncall@example.com")])
    return store


def actor_of(store: Store, user: str) -> Actor:
    return users.authenticate(store, users.create_token(store, user).token)


def test_a_user_sees_the_deliveries_of_their_projects_only(team: Store) -> None:
    everything = alerts.list_deliveries(team)
    assert [(d.project, d.channel) for d in everything] == [("default", "email"), ("fraud", "webhook")]
    assert [d.project for d in alerts.list_deliveries(team, actor=actor_of(team, "bob"))] == ["fraud"]
    assert alerts.list_deliveries(team, actor=actor_of(team, "carol")) == []
    with pytest.raises(Forbidden, match="viewer role in project 'fraud'"):
        alerts.list_deliveries(team, project="fraud", actor=actor_of(team, "carol"))


def test_a_webhook_is_listed_by_its_host_and_filters_combine(team: Store) -> None:
    [hook] = alerts.list_deliveries(team, project="fraud", workflow="wf", state="pending")
    assert hook.target == "https://hooks.example.com/…" and "T0K3N" not in str(hook)
    assert hook.next_attempt_at is not None and hook.attempts == 0
    assert alerts.list_deliveries(team, run=hook.run_id, state="sent") == []
    assert alerts.list_deliveries(team, limit=1)[0].project == "default"  # newest first
    with pytest.raises(InvalidInput, match="use one of pending, sent, failed"):
        alerts.list_deliveries(team, state="lost")
    with pytest.raises(InvalidInput, match="give the project too"):
        alerts.list_deliveries(team, workflow="wf")


def test_project_rules_are_set_shown_and_cleared_by_its_admins(team: Store) -> None:
    rules = [{"on": ["failure", "long_running"], "after": "30m", "webhook": HOOK}]
    assert alerts.set_project_alerts(team, "fraud", rules).alerts == [
        {"on": ["failure", "long_running"], "after": 1800.0, "webhook": HOOK}]
    assert alerts.project_alerts(team, "fraud").alerts[0]["webhook"] == HOOK
    for user in ("alice", "bob", "carol"):  # an editor is not enough: webhook URLs are secrets
        with pytest.raises(Forbidden, match="admin role"):
            alerts.project_alerts(team, "fraud", actor=actor_of(team, user))
    assert alerts.clear_project_alerts(team, "fraud").alerts == []
    assert alerts.project_alerts(team, "fraud").alerts == []
    with pytest.raises(NotFound, match="no project 'nope'"):
        alerts.set_project_alerts(team, "nope", rules)


def test_bad_project_rules_name_the_field_and_change_nothing(team: Store, tmp_path: Path) -> None:
    alerts.set_project_alerts(team, "fraud", [{"on": ["failure"], "email": ["a@example.com"]}])
    with pytest.raises(SpecError) as info:
        alerts.set_project_alerts(team, "fraud", [{"on": ["long_running"], "email": ["a@example.com"]}])
    assert "field 'alerts[0]'" in str(info.value) and "needs `after`" in str(info.value)
    path = tmp_path / "rules.yaml"
    path.write_text("alerts:\n  - on: [failur]\n    webhook: https://h.example.com/\n")
    with pytest.raises(SpecError, match=r"rules.yaml: field 'alerts\[0\].on': unknown event 'failur'"):
        alerts.set_project_alerts(team, "fraud", alerts.load_rules(path), source=str(path))
    assert alerts.project_alerts(team, "fraud").alerts == [{"on": ["failure"], "email": ["a@example.com"]}]
