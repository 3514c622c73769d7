"""services.runs: trigger, list, show, stop, rerun, recover, backfill, wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from shoal.errors import Conflict, Forbidden, NotFound
from shoal.services import Actor, Role, RunInfo, runs, workflows
from shoal.services.runs import BackfillResult, RunSummary
from shoal.store import Store

FAILING = """\
    name: f
    tasks:
      - {name: a, type: shell, command: 'true'}
      - {name: b, type: shell, command: 'test -e ok', upstream: [a]}
      - {name: c, type: shell, command: 'true', upstream: [b]}
"""


@pytest.fixture
def failing(store: Store, write: Callable[[str, str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workflow whose task b fails until `ok` exists in the directory tasks run in."""
    monkeypatch.chdir(tmp_path)
    workflows.apply_path(store, write("f", FAILING))
    return tmp_path / "ok"


def test_trigger_wait_show_list(store: Store, executor, failing: Path) -> None:  # type: ignore[no-untyped-def]
    info = runs.trigger(store, "f", logical_date="2026-03-01")
    assert (info.state, [t.state for t in info.tasks]) == ("queued", ["pending"] * 3)
    runs.wait(store, [info.id], timeout=120, executor=executor)
    assert runs.ended(store, [info.id])
    done = runs.show(store, info.id)
    assert {t.task: t.state for t in done.tasks} == {"a": "success", "b": "failed", "c": "upstream_failed"}
    (row,) = runs.list_runs(store)
    assert (row.id, row.workflow, row.state, row.logical_date[:10]) == (info.id, "f", "failed", "2026-03-01")
    assert runs.list_runs(store, state="success") == []
    assert b'"state":"failed"' in TypeAdapter(list[RunSummary]).dump_json(runs.list_runs(store))
    assert b'"task":"b"' in TypeAdapter(RunInfo).dump_json(done)


def test_recover_and_rerun_count_what_runs_again(store: Store, executor, failing: Path) -> None:  # type: ignore[no-untyped-def]
    run_id = runs.trigger(store, "f").id
    runs.wait(store, [run_id], timeout=120, executor=executor)
    failing.touch()
    assert runs.recover(store, run_id) == 2  # b failed, c upstream_failed
    runs.wait(store, [run_id], timeout=120, executor=executor)
    assert runs.show(store, run_id).state == "success"
    with pytest.raises(Conflict, match="nothing to recover"):
        runs.recover(store, run_id)
    assert runs.rerun(store, run_id, "b") == 2  # b and c


def test_stop_checks_every_run_before_stopping_any(store: Store, failing: Path) -> None:
    queued = runs.trigger(store, "f").id
    with pytest.raises(NotFound, match="run 999"):
        runs.stop(store, [queued, 999])
    assert runs.show(store, queued).state == "queued"  # the bad id stopped nothing
    assert runs.stop(store, [queued, queued]) == [queued]
    with pytest.raises(Conflict, match="already ended"):
        runs.stop(store, [queued])


def test_a_run_is_addressed_within_its_project_and_roles(store: Store, failing: Path) -> None:
    run_id = runs.trigger(store, "f").id
    with pytest.raises(NotFound, match="project 'other'"):
        runs.show(store, run_id, project="other")
    viewer = Actor("ann", {"default": Role.VIEWER})
    assert runs.show(store, run_id, actor=viewer).id == run_id
    assert [r.id for r in runs.list_runs(store, actor=viewer)] == [run_id]
    assert runs.list_runs(store, actor=Actor("bob", {})) == []
    for act in (lambda: runs.trigger(store, "f", actor=viewer), lambda: runs.stop(store, [run_id], actor=viewer)):
        with pytest.raises(Forbidden):
            act()
    assert len(runs.list_runs(store)) == 1 and runs.show(store, run_id).state == "queued"


def test_backfill_queues_one_run_per_day(store: Store, failing: Path) -> None:
    result = runs.backfill(store, "f", start=date(2026, 3, 1), end=date(2026, 3, 3), descending=True)
    assert isinstance(result, BackfillResult) and len(result.run_ids) == 3
    days = [i.logical_date.date().isoformat() for i in runs.show_many(store, result.run_ids)]
    assert days == ["2026-03-03", "2026-03-02", "2026-03-01"]
    assert not runs.ended(store, result.run_ids)


def test_wait_gives_up_after_its_timeout(store: Store, failing: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = runs.trigger(store, "f").id
    monkeypatch.setattr(runs, "scheduler_running", lambda _store: True)  # a scheduler "drives" it: we only watch
    with pytest.raises(TimeoutError, match=f"runs \\[{run_id}\\]"):
        runs.wait(store, [run_id], timeout=0.5)
    assert runs.show(store, run_id).state == "queued"
