"""Alerts: the deliveries recorded for runs (what was sent, to whom, and how it went), and a
project's default rules, which its workflows without `alerts:` of their own follow.

Who may do what: reading deliveries needs the viewer role in their project (a list without a
project shows those of the caller's projects only); a project's default rules are read and
changed by its admins, since webhook URLs often carry a secret of their own. A webhook target
is shown redacted (scheme and host) in every answer; the full URL is kept only to send to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pydantic
from sqlalchemy import select, update

from shoal.alerts.outbox import DeliveryState
from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.errors import InvalidInput, NotFound
from shoal.spec.alerts import AlertRules, redact_url, rules_to_data
from shoal.spec.errors import Problem, SpecError, problems_from_validation_error
from shoal.store import Store
from shoal.store.models import alert_deliveries, projects, runs, workflows
from shoal.store.projects import project_id

__all__ = [
    "STATES", "DeliveryInfo", "ProjectAlerts", "clear_project_alerts", "list_deliveries", "load_rules",
    "project_alerts", "set_project_alerts",
]

STATES = tuple(str(s) for s in DeliveryState)  # pending, sent, failed
MAX_RULES_FILE_BYTES = 1 * 2**20
MAX_LIMIT = 1000


@dataclass(frozen=True)
class DeliveryInfo:
    """One alert delivery: an event of a run told to one target. `target` is an email address,
    or a webhook URL redacted to its scheme and host."""

    id: int
    project: str
    workflow: str
    run_id: int
    event: str
    task: str | None
    channel: str
    target: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    sent_at: datetime | None
    next_attempt_at: datetime | None  # pending only: when it is tried next (UTC)


@dataclass(frozen=True)
class ProjectAlerts:
    """A project's default alert rules (empty: none)."""

    project: str
    alerts: list[dict[str, Any]] = field(default_factory=list)


def list_deliveries(
    store: Store, *, project: str | None = None, workflow: str | None = None, run: int | None = None,
    state: str | None = None, limit: int = 50, actor: Actor = LOCAL,
) -> list[DeliveryInfo]:
    """Recent deliveries, newest first, of the projects `actor` may read."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"invalid state {state!r}: use one of {', '.join(STATES)}", field="state")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit {limit} is out of range: use 1 to {MAX_LIMIT}", field="limit")
    if workflow is not None and project is None:
        raise InvalidInput("a workflow is named within its project: give the project too (--project)",
                           field="project")
    if project is not None:
        require(actor, project, Role.VIEWER, f"read alerts of project {project!r}")
    q = (select(alert_deliveries, workflows.c.name.label("workflow"), projects.c.name.label("project"))
         .join(runs, runs.c.id == alert_deliveries.c.run_id)
         .join(workflows, workflows.c.id == runs.c.workflow_id)
         .join(projects, projects.c.id == workflows.c.project_id)
         .order_by(alert_deliveries.c.id.desc()).limit(limit))
    if project is not None:
        q = q.where(projects.c.name == project)
    elif actor.roles is not None:  # a user sees the deliveries of their projects only
        q = q.where(projects.c.name.in_(sorted(actor.roles)))
    if workflow is not None:
        q = q.where(workflows.c.name == workflow)
    if run is not None:
        q = q.where(alert_deliveries.c.run_id == run)
    if state is not None:
        q = q.where(alert_deliveries.c.state == state)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [_info(r) for r in rows]


def _info(r: Any) -> DeliveryInfo:
    return DeliveryInfo(
        id=r.id, project=r.project, workflow=r.workflow, run_id=r.run_id, event=r.event, task=r.task_name,
        channel=r.channel, target=redact_url(r.target) if r.channel == "webhook" else r.target, state=r.state,
        attempts=r.attempts, last_error=r.last_error, created_at=r.created_at, last_attempt_at=r.last_attempt_at,
        sent_at=r.sent_at, next_attempt_at=r.next_attempt_at if r.state == DeliveryState.PENDING else None,
    )


# --------------------------------------------------------------------- a project's default rules


class _ProjectRules(pydantic.BaseModel):
    """What `shoal project alerts --file` reads: the rules, as a workflow's `alerts:` holds them."""

    model_config = pydantic.ConfigDict(extra="forbid")

    alerts: AlertRules


def load_rules(path: str | Path) -> Any:
    """The rules in a YAML or JSON file: a list of rules, or a mapping with an `alerts:` list
    (a workflow's, copied). Not yet checked: `set_project_alerts` does that."""
    source = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_RULES_FILE_BYTES + 1)
    except OSError as exc:
        raise SpecError([Problem(source, None, None, None, f"cannot read the file: {exc.strerror or exc}")]) from None
    if len(data) > MAX_RULES_FILE_BYTES:
        raise SpecError([Problem(source, None, None, None, "the file is larger than 1 MiB: alert rules are short")])
    try:
        text = data.decode("utf-8")
        if source.lower().endswith(".json"):
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SpecError([Problem(source, None, None, None, f"not valid JSON/YAML: {exc}")]) from None
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError, without importing yaml up front
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise SpecError([Problem(source, None if line is None else line + 1, None, None,
                                 f"invalid YAML: {getattr(exc, 'problem', None) or exc}")]) from None


def _checked(data: Any, source: str | None) -> list[dict[str, Any]]:
    if isinstance(data, dict) and set(data) == {"alerts"}:
        data = data["alerts"]
    wrapped = {"alerts": data}
    try:
        rules = _ProjectRules.model_validate(wrapped).alerts
    except pydantic.ValidationError as exc:
        raise SpecError(problems_from_validation_error(exc, wrapped, model=_ProjectRules, file=source)) from None
    return rules_to_data(rules)


def project_alerts(store: Store, project: str, *, actor: Actor = LOCAL) -> ProjectAlerts:
    """A project's default rules."""
    require(actor, project, Role.ADMIN, f"read the alert rules of project {project!r}")
    with store.engine.connect() as conn:
        row = conn.execute(select(projects.c.alerts).where(projects.c.name == project)).first()
    if row is None:
        raise _no_project(project)
    return ProjectAlerts(project, list(row.alerts or []))


def set_project_alerts(
    store: Store, project: str, rules: Any, *, source: str | None = None, actor: Actor = LOCAL,
) -> ProjectAlerts:
    """Replace a project's default rules with `rules` (plain data, checked as a workflow's
    `alerts:` is; SpecError naming each bad field, and nothing changes). Runs loaded from now
    on follow them; runs already running keep the rules they started with."""
    require(actor, project, Role.ADMIN, f"change the alert rules of project {project!r}")
    data = _checked(rules, source)
    with store.engine.begin() as conn:
        try:
            pid = project_id(conn, project)
        except NotFound:
            raise _no_project(project) from None
        conn.execute(update(projects).where(projects.c.id == pid).values(alerts=data or None))
    return ProjectAlerts(project, data)


def clear_project_alerts(store: Store, project: str, *, actor: Actor = LOCAL) -> ProjectAlerts:
    """Remove a project's default rules: its workflows without rules of their own send none."""
    require(actor, project, Role.ADMIN, f"change the alert rules of project {project!r}")
    with store.engine.begin() as conn:
        if not conn.execute(update(projects).where(projects.c.name == project).values(alerts=None)).rowcount:
            raise _no_project(project)
    return ProjectAlerts(project, [])


def _no_project(project: str) -> NotFound:
    return NotFound(f"no project {project!r}; `shoal project list` shows the projects", project=project)

