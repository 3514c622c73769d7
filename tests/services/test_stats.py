"""services.stats: a workflow's last runs with durations and summary, runs per day by state, and
the last runs of many workflows at once — on SQLite and PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from shoal.errors import Forbidden, InvalidInput, NotFound
from shoal.services import Actor, Role, runs, stats, workflows
from shoal.store import Store
from shoal.store.models import runs as runs_table

WF = "name: {name}\nproject: {project}\ntasks:\n  - {{name: a, type: shell, command: 'true'}}\n"
T0 = datetime(2026, 3, 10, 12, 0, 0)


def make_runs(store: Store, name: str, history: list[tuple[str, float | None]], *, project: str = "default",
              created: list[datetime] | None = None) -> list[int]:
    """Runs of `name`, oldest first, each (state, duration in seconds): None for a run that has
    not ended (running) or never started (queued, or stopped before it started)."""
    workflows.apply_text(store, WF.format(name=name, project=project))
    ids = []
    for i, (state, duration) in enumerate(history):
        run_id = runs.trigger(store, name, project=project).id
        started = None if state == "queued" or (duration is None and state != "running") else T0 + timedelta(hours=i)
        ended = started + timedelta(seconds=duration) if started is not None and duration is not None else None
        when = created[i] if created else T0 + timedelta(hours=i)
        with store.engine.begin() as conn:
            conn.execute(update(runs_table).where(runs_table.c.id == run_id).values(
                state=state, created_at=when, started_at=started, ended_at=ended))
        ids.append(run_id)
    return ids


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 11)]
    assert stats.percentile(values, 0.5) == pytest.approx(5.5)
    assert stats.percentile(values, 0.9) == pytest.approx(9.1)
    assert stats.percentile(values, 1.0) == 10.0
    assert stats.percentile([7.0], 0.9) == 7.0
    assert stats.percentile([], 0.5) is None


def test_workflow_stats_oldest_first_with_a_summary_of_the_succeeded(store: Store) -> None:
    history = [("success", 10.0), ("failed", 5.0), ("success", 40.0), ("stopped", None), ("success", 20.0),
               ("success", 30.0), ("running", None), ("queued", None)]
    ids = make_runs(store, "w", history)
    got = stats.workflow_stats(store, "w")
    assert [p.id for p in got.runs] == ids
    assert [(p.state, p.duration) for p in got.runs] == history
    assert got.runs[0].started_at == "2026-03-10T12:00:00" and got.runs[0].ended_at == "2026-03-10T12:00:10"
    assert (got.runs[-1].started_at, got.runs[-1].ended_at) == (None, None)
    assert got.runs[0].trigger == "manual" and got.runs[0].logical_date.endswith("+00:00")
    s = got.summary
    assert (s.runs, s.finished, s.succeeded) == (8, 6, 4)
    assert s.success_rate == pytest.approx(4 / 6)
    assert (s.mean, s.p50, s.p90, s.max) == (pytest.approx(25.0), pytest.approx(25.0), pytest.approx(37.0), 40.0)

    newest = stats.workflow_stats(store, "w", last=3)
    assert [p.id for p in newest.runs] == ids[-3:]
    assert (newest.summary.finished, newest.summary.succeeded, newest.summary.p50) == (1, 1, 30.0)


def test_workflow_stats_without_runs_and_bad_asks(store: Store) -> None:
    workflows.apply_text(store, WF.format(name="idle", project="default"))
    idle = stats.workflow_stats(store, "idle")
    assert idle.runs == [] and idle.summary.success_rate is None and idle.summary.p50 is None
    with pytest.raises(NotFound, match="'nope' not found in project 'default'"):
        stats.workflow_stats(store, "nope")
    for last in (0, 1001):
        with pytest.raises(InvalidInput, match="last: expected 1 to 1000") as err:
            stats.workflow_stats(store, "idle", last=last)
        assert err.value.details["field"] == "last"
    with pytest.raises(Forbidden):
        stats.workflow_stats(store, "idle", actor=Actor("carol", {"fraud": Role.VIEWER}))


def test_runs_per_day_counts_every_day_and_state(store: Store) -> None:
    day = datetime(2026, 3, 10, 23, 59)
    make_runs(store, "w", [("success", 1.0), ("success", 2.0), ("failed", 1.0), ("success", 1.0), ("queued", None)],
              created=[day, day - timedelta(hours=1), day, day - timedelta(days=2), day - timedelta(days=9)])
    make_runs(store, "v", [("failed", 1.0)], project="fraud", created=[day - timedelta(days=1)])
    got = stats.runs_per_day(store, days=3, today=date(2026, 3, 10))
    assert (got.since, got.until, got.states) == ("2026-03-08", "2026-03-10", list(stats.RUN_STATES))
    assert [d.day for d in got.days] == ["2026-03-08", "2026-03-09", "2026-03-10"]
    assert [d.total for d in got.days] == [1, 1, 3]
    assert got.days[2].counts == {"queued": 0, "running": 0, "paused": 0, "success": 2, "failed": 1, "stopped": 0}
    assert got.days[1].counts["failed"] == 1 and got.days[0].counts["success"] == 1

    ten = stats.runs_per_day(store, days=10, today=date(2026, 3, 10))
    assert len(ten.days) == 10 and ten.days[0].counts["queued"] == 1 and sum(d.total for d in ten.days) == 6
    assert [d.total for d in stats.runs_per_day(store, project="fraud", days=3, today=date(2026, 3, 10)).days] == [
        0, 1, 0]
    assert sum(d.total for d in stats.runs_per_day(store, workflow="w", days=3, today=date(2026, 3, 10)).days) == 4
    # A viewer of fraud counts fraud's runs only, and may not ask for default's.
    bob = Actor("bob", {"fraud": Role.VIEWER})
    assert sum(d.total for d in stats.runs_per_day(store, days=10, today=date(2026, 3, 10), actor=bob).days) == 1
    with pytest.raises(Forbidden):
        stats.runs_per_day(store, project="default", actor=bob)
    with pytest.raises(NotFound, match="'w' not found in the projects you may read"):
        stats.runs_per_day(store, workflow="w", actor=bob)
    with pytest.raises(InvalidInput, match="days: expected 1 to 366"):
        stats.runs_per_day(store, days=0)


def test_recent_runs_of_many_workflows_in_one_ask(store: Store) -> None:
    long = make_runs(store, "long", [("success" if i % 5 else "failed", float(i + 1)) for i in range(25)])
    short = make_runs(store, "short", [("success", 3.5), ("running", None)])
    workflows.apply_text(store, WF.format(name="none", project="default"))
    other = make_runs(store, "x", [("success", 1.0)], project="fraud")
    got = stats.recent_runs(store, ["default/long", "default/short", "default/none", "default/gone", "fraud/x",
                                    "default/long"])
    assert got.last == 20 and got.missing == ["default/gone"]
    assert list(got.workflows) == ["default/long", "default/short", "default/none", "fraud/x"]
    assert [r.id for r in got.workflows["default/long"]] == long[-20:]
    assert [r.duration for r in got.workflows["default/long"]] == [float(i + 1) for i in range(5, 25)]
    assert [r.state for r in got.workflows["default/long"]][:6] == ["failed"] + ["success"] * 4 + ["failed"]
    assert [(r.id, r.state, r.duration) for r in got.workflows["default/short"]] == [
        (short[0], "success", 3.5), (short[1], "running", None)]
    assert got.workflows["default/none"] == [] and [r.id for r in got.workflows["fraud/x"]] == other
    assert [r.id for r in stats.recent_runs(store, ["default/long"], last=2).workflows["default/long"]] == long[-2:]

    bob = Actor("bob", {"fraud": Role.VIEWER})
    assert list(stats.recent_runs(store, ["fraud/x"], actor=bob).workflows) == ["fraud/x"]
    with pytest.raises(Forbidden):
        stats.recent_runs(store, ["fraud/x", "default/long"], actor=bob)
    for bad in ("long", "/long", "default/", "a/b/c"):
        with pytest.raises(InvalidInput, match="is not project/name") as err:
            stats.recent_runs(store, [bad])
        assert err.value.details["field"] == "workflow"
    with pytest.raises(InvalidInput, match="at most 100 workflows"):
        stats.recent_runs(store, [f"default/w{i}" for i in range(101)])
    with pytest.raises(InvalidInput, match="at least one"):
        stats.recent_runs(store, [])
    with pytest.raises(InvalidInput, match="last: expected 1 to 100"):
        stats.recent_runs(store, ["default/long"], last=101)
