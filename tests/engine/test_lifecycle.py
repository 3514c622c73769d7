"""Run lifecycle across versions and runs: pinning, rerun from a task, recover, stop,
sub-workflows, dependent tasks, backfill order, schedules."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from shoal.client import Client
from shoal.engine import scheduler
from shoal.engine import workflows as workflows_module
from shoal.engine.paths import attempt_files
from shoal.engine.runs import get_run, recover_run, rerun_from, stop_run, trigger_run
from shoal.engine.scheduler import set_paused, tick_schedules
from shoal.engine.workflows import get_workflow, list_workflows
from shoal.errors import Conflict, InvalidInput, NotFound
from shoal.spec.errors import SpecError
from shoal.store.models import runs, schedules
from tests.engine.conftest import states


def _count(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


def test_apply_stores_a_new_version_only_when_changed(client: Client, apply_yaml) -> None:
    apply_yaml("name: v\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    apply_yaml("name: v\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    assert get_workflow(client.store, "v").version == 1
    apply_yaml("name: v\ntasks: [{name: a, type: shell, command: 'echo changed'}]\n")
    assert get_workflow(client.store, "v").version == 2
    assert get_workflow(client.store, "v", version=1).spec.tasks[0].config["command"] == "true"


def test_the_same_definition_applied_from_another_directory_changes_nothing_stored(
    client: Client, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a changed definition stores a version, and a stored version (where its python tasks
    import from included) never changes: re-applying elsewhere says so and keeps runs working."""
    path = workdir / "v.yaml"
    path.write_text("name: moved\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    monkeypatch.chdir(workdir)
    (first,) = client.apply_path(path)
    (again,) = client.apply_path(path)
    stored = get_workflow(client.store, "moved").source_dir
    monkeypatch.chdir(workdir.parent)
    (moved,) = client.apply_path(path)
    assert (first.version, again.changed, again.kept_source_dir) == (1, False, None)
    assert (moved.version, moved.changed, moved.kept_source_dir) == (1, False, stored)
    assert get_workflow(client.store, "moved").source_dir == stored
    path.write_text("name: moved\ntasks: [{name: a, type: shell, command: 'echo new'}]\n")
    (changed,) = client.apply_path(path)
    assert changed.version == 2 and get_workflow(client.store, "moved").source_dir != stored


def test_a_directory_is_applied_completely_or_not_at_all(
    client: Client, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "a.yaml").write_text("name: dir_a\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    (workdir / "b.yaml").write_text("name: dir_b\ntasks: [{name: b, type: shell, command: 'true'}]\n")
    real, calls = workflows_module._apply_one, []

    def failing_second(conn, wf, *args):  # type: ignore[no-untyped-def]
        calls.append(wf.name)
        if len(calls) == 2:
            raise OSError("disk full")  # whatever fails while storing the second
        return real(conn, wf, *args)

    monkeypatch.setattr(workflows_module, "_apply_one", failing_second)
    with pytest.raises(OSError):
        client.apply_path(workdir)
    assert calls == ["dir_a", "dir_b"] and list_workflows(client.store) == []
    monkeypatch.undo()
    # --project puts both in one project: two files naming the same workflow are refused.
    (workdir / "c.yaml").write_text("name: dir_a\nproject: other\ntasks: [{name: c, type: shell, command: 'true'}]")
    with pytest.raises(SpecError, match="also defined in .*with --project team both would be the same workflow"):
        client.apply_path(workdir, project="team")
    assert list_workflows(client.store) == []
    (workdir / "c.yaml").unlink()
    assert [r.name for r in client.apply_path(workdir, project="team")] == ["dir_a", "dir_b"]


def test_workflow_version_zero_and_search_wildcards(client: Client, apply_yaml) -> None:
    apply_yaml("name: under_score\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    apply_yaml("name: plain\ndescription: 100% sure\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    with pytest.raises(InvalidInput, match="versions count from 1"):
        get_workflow(client.store, "plain", version=0)
    assert [w["name"] for w in list_workflows(client.store, search="_")] == ["under_score"]
    assert [w["name"] for w in list_workflows(client.store, search="%")] == ["plain"]


def test_a_run_pins_the_version_it_started_with(client: Client, apply_yaml, workdir: Path) -> None:
    out = workdir / "out"
    apply_yaml(f"name: pin\ntasks: [{{name: a, type: shell, command: 'sh -c \"echo v1 >> {out}\"'}}]\n")
    run_id = trigger_run(client.store, "pin")
    apply_yaml(f"name: pin\ntasks: [{{name: a, type: shell, command: 'sh -c \"echo v2 >> {out}\"'}}]\n")
    client.wait([run_id], timeout=60)
    assert out.read_text().split() == ["v1"]
    assert get_run(client.store, run_id).version == 1


def test_rerun_from_a_task_reruns_it_and_its_downstream_only(run_yaml, client: Client, workdir: Path) -> None:
    info = run_yaml(f"""
        name: rr
        tasks:
          - {{name: a, type: shell, command: "sh -c 'echo a >> {workdir}/a'"}}
          - {{name: b, type: shell, upstream: [a], command: "sh -c 'echo b >> {workdir}/b'"}}
          - {{name: c, type: shell, upstream: [b], command: "sh -c 'echo c >> {workdir}/c'"}}
          - {{name: d, type: shell, upstream: [a], command: "sh -c 'echo d >> {workdir}/d'"}}
        """)
    assert info.state == "success"
    assert rerun_from(client.store, info.id, "b") == 2
    client.wait([info.id], timeout=60)
    after = get_run(client.store, info.id)
    assert after.state == "success"
    assert [_count(workdir / n) for n in "abcd"] == [1, 2, 2, 1]
    assert next(t for t in after.tasks if t.task == "b").attempt == 2


def test_recover_reruns_only_failed_stopped_and_upstream_failed(run_yaml, client: Client, workdir: Path) -> None:
    flag = workdir / "fixed"
    info = run_yaml(f"""
        name: rec
        failure_strategy: continue
        tasks:
          - {{name: ok, type: shell, command: "sh -c 'echo x >> {workdir}/ok'"}}
          - {{name: bad, type: shell, command: "test -f {flag}"}}
          - {{name: after, type: shell, upstream: [bad], command: "true"}}
        """)
    assert states(info) == {"ok": "success", "bad": "failed", "after": "upstream_failed"}
    flag.touch()
    assert recover_run(client.store, info.id) == 2
    client.wait([info.id], timeout=60)
    after = get_run(client.store, info.id)
    assert after.state == "success"
    assert _count(workdir / "ok") == 1
    with pytest.raises(Conflict):
        recover_run(client.store, info.id)


def test_recover_starts_a_new_series_of_retry_delays(run_yaml, client: Client) -> None:
    """The backoff counts attempts within a series: after a recover the first retry waits
    retry_delay again, not retry_delay * backoff**(attempts so far) (here 1 s, not 100 s)."""
    info = run_yaml("""
        name: backoff_series
        tasks:
          - {name: bad, type: shell, command: "exit 1", retries: 1, retry_delay: 1s, retry_backoff: 10}
        """)
    assert (info.state, info.tasks[0].attempt) == ("failed", 2)
    assert recover_run(client.store, info.id) == 1
    client.wait([info.id], timeout=30)  # a delay counted from attempt 1 would not end in time
    after = get_run(client.store, info.id)
    assert (after.state, after.tasks[0].attempt, after.tasks[0].max_attempts) == ("failed", 4, 4)


def test_rerun_of_an_active_run_is_refused(client: Client, apply_yaml) -> None:
    apply_yaml("name: act\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    run_id = trigger_run(client.store, "act")
    with pytest.raises(Conflict):
        rerun_from(client.store, run_id, "a")
    client.wait([run_id], timeout=60)
    with pytest.raises(InvalidInput, match="nope"):
        rerun_from(client.store, run_id, "nope")


def test_stop_kills_running_tasks_and_marks_the_rest_stopped(client: Client, apply_yaml) -> None:
    apply_yaml("""
        name: stoppable
        tasks:
          - {name: long, type: shell, command: "sleep 60"}
          - {name: after, type: shell, upstream: [long], command: "true"}
        """)
    run_id = trigger_run(client.store, "stoppable")

    def stop_when_running() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            t = get_run(client.store, run_id).tasks[0]
            if t.state == "running":
                stop_run(client.store, run_id)
                return
            time.sleep(0.05)

    stopper = threading.Thread(target=stop_when_running)
    started = time.monotonic()
    stopper.start()
    client.wait([run_id], timeout=60)
    stopper.join()
    assert time.monotonic() - started < 30
    info = get_run(client.store, run_id)
    assert info.state == "stopped"
    assert states(info) == {"long": "stopped", "after": "stopped"}


def test_sub_workflow_runs_a_child_run_and_waits(run_yaml, apply_yaml, client: Client) -> None:
    apply_yaml("""
        name: child
        params: {who: nobody}
        tasks: [{name: hi, type: shell, command: "echo '##shoal:set greeting=hi-${who}'"}]
        """)
    info = run_yaml("""
        name: parent
        tasks:
          - {name: sub, type: sub_workflow, workflow: child, params: {who: parent}}
          - {name: after, type: shell, upstream: [sub], command: "echo child run ${sub.run_id}"}
        """)
    assert info.state == "success"
    child_id = next(t for t in info.tasks if t.task == "sub").outputs["run_id"]
    child = get_run(client.store, child_id)
    assert child.state == "success" and child.trigger == "sub_workflow"
    assert child.tasks[0].outputs == {"greeting": "hi-parent"}


def test_sub_workflow_child_reads_the_same_day_as_its_parent(run_yaml, apply_yaml, client: Client) -> None:
    """Parent scheduled in Asia/Shanghai, child unscheduled (UTC by default): 01:30 in Shanghai is
    the previous day in UTC, yet the child must process the parent's day."""
    apply_yaml("""
        name: tz_child
        tasks: [{name: say, type: shell, command: "echo '##shoal:set day=${ds}'"}]
        """)
    info = run_yaml("""
        name: tz_parent
        schedule: {cron: "30 1 * * *", timezone: Asia/Shanghai}
        tasks:
          - {name: sub, type: sub_workflow, workflow: tz_child}
          - {name: mine, type: shell, command: "echo '##shoal:set day=${ds}'"}
        """, date="2026-05-10T01:30")
    assert info.state == "success"
    child = get_run(client.store, info.tasks[0].outputs["run_id"])
    assert child.tasks[0].outputs == info.tasks[1].outputs == {"day": "2026-05-10"}


def test_sub_workflow_failure_fails_the_parent_task(run_yaml, apply_yaml) -> None:
    apply_yaml("name: badchild\ntasks: [{name: x, type: shell, command: 'false'}]\n")
    info = run_yaml("name: p2\ntasks: [{name: sub, type: sub_workflow, workflow: badchild}]\n")
    assert info.state == "failed"
    assert "ended failed" in (info.tasks[0].error or "")


def test_sub_workflow_cycles_fail_instead_of_starting_runs_without_end(run_yaml, apply_yaml, client: Client) -> None:
    info = run_yaml("name: selfsub\ntasks: [{name: again, type: sub_workflow, workflow: selfsub}]\n")
    assert info.state == "failed"
    assert "sub-workflow cycle: selfsub -> selfsub" in (info.tasks[0].error or "")
    apply_yaml("name: mb\ntasks: [{name: back, type: sub_workflow, workflow: ma}]\n")
    info = run_yaml("name: ma\ntasks: [{name: to_b, type: sub_workflow, workflow: mb}]\n")
    assert info.state == "failed"
    with client.store.engine.connect() as conn:
        (child_id,) = conn.execute(select(runs.c.id).where(runs.c.parent_task_run_id == info.tasks[0].id)).one()
        assert conn.execute(select(func.count()).select_from(runs)).scalar() == 3  # selfsub, ma, mb
    assert "sub-workflow cycle: ma -> mb -> ma" in (get_run(client.store, child_id).tasks[0].error or "")


def test_sub_workflow_of_an_unknown_workflow_fails_clearly(run_yaml) -> None:
    info = run_yaml("name: p3\ntasks: [{name: sub, type: sub_workflow, workflow: nowhere}]\n")
    assert info.state == "failed"
    assert "nowhere" in (info.tasks[0].error or "")


def test_dependent_waits_for_the_other_workflows_run_of_the_day(client: Client, apply_yaml) -> None:
    apply_yaml("name: upstream_wf\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    apply_yaml("""
        name: downstream_wf
        tasks:
          - {name: wait, type: dependent, workflow: upstream_wf, date_offset: -1, poll_interval: 0.2s, timeout: 30s}
          - {name: go, type: shell, upstream: [wait], command: "true"}
        """)
    up = client.run("upstream_wf", date="2026-02-01", wait=True, timeout=60)
    assert up.state == "success"
    info = client.run("downstream_wf", date="2026-02-02", wait=True, timeout=60)
    assert info.state == "success"
    assert info.tasks[0].outputs == {"run_id": up.id}


def test_dependent_times_out_when_nothing_succeeds(client: Client, apply_yaml) -> None:
    apply_yaml("name: never_wf\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    apply_yaml("""
        name: waits_forever
        tasks: [{name: wait, type: dependent, workflow: never_wf, poll_interval: 0.2s, timeout: 1s}]
        """)
    info = client.run("waits_forever", date="2026-02-02", wait=True, timeout=60)
    assert info.state == "failed"
    assert "timed out" in (info.tasks[0].error or "")


def test_dependent_says_in_its_log_what_it_waits_for_and_when_it_gives_up(client: Client, apply_yaml) -> None:
    apply_yaml("""
        name: typo_dep
        tasks: [{name: wait, type: dependent, workflow: nevr_wf, date_offset: -1, poll_interval: 0.2s, timeout: 1s}]
        """)
    info = client.run("typo_dep", date="2026-02-02", wait=True, timeout=60)
    assert info.state == "failed"
    log_file, _ = attempt_files(client.store.settings.logs_dir, info.id, "wait", 1)
    text = Path(log_file).read_text()
    assert "waiting for a successful run of 'nevr_wf' on 2026-02-01 (there is no workflow 'nevr_wf'" in text
    assert "timed out waiting for 'nevr_wf'" in text


def test_backfill_serial_runs_in_date_order(client: Client, apply_yaml, workdir: Path) -> None:
    out = workdir / "dates"
    apply_yaml(f"""
        name: bf
        schedule: {{cron: "0 2 * * *", timezone: Asia/Shanghai}}
        tasks: [{{name: a, type: shell, command: "sh -c 'echo ${{ds}} >> {out}'"}}]
        """)
    run_ids = client.backfill("bf", start=date(2026, 1, 1), end=date(2026, 1, 4), descending=True, wait=True)
    assert len(run_ids) == 4
    assert out.read_text().split() == ["2026-01-04", "2026-01-03", "2026-01-02", "2026-01-01"]
    assert all(get_run(client.store, r).state == "success" for r in run_ids)


def test_backfill_parallel_completes_every_date(client: Client, apply_yaml) -> None:
    apply_yaml("name: bfp\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    run_ids = client.backfill("bfp", start=date(2026, 1, 1), end=date(2026, 1, 6), parallel=3, wait=True)
    infos = [get_run(client.store, r) for r in run_ids]
    assert [i.logical_date.date() for i in infos] == [date(2026, 1, d) for d in range(1, 7)]
    assert {i.state for i in infos} == {"success"}


def test_max_active_runs_runs_catch_up_dates_one_at_a_time_in_order(client: Client, apply_yaml, workdir: Path) -> None:
    """Catch-up creates every missed run at once; `max_active_runs: 1` starts them one by one,
    earliest first, even though the driver could run them all together."""
    ledger = workdir / "ledger"
    apply_yaml(f"""
        name: one_at_a_time
        max_active_runs: 1
        schedule: {{cron: "0 * * * *", start: "2026-01-01", catchup: true}}
        tasks:
          - name: a
            type: shell
            command: "sh -c 'echo start-$[HH] >> {ledger}; sleep 0.2; echo end-$[HH] >> {ledger}'"
        """)
    with client.engine.begin() as conn:
        conn.execute(update(schedules).values(next_fire_at=datetime(2026, 1, 1)))
    created = tick_schedules(client.store, now=datetime(2026, 1, 1, 3, 30, tzinfo=UTC))
    assert len(created) == 4
    client.wait(list(reversed(created)), timeout=120)
    assert {get_run(client.store, r).state for r in created} == {"success"}
    assert ledger.read_text().split() == [f"{edge}-{h:02d}" for h in range(4) for edge in ("start", "end")]


def test_waiting_for_a_run_queued_behind_an_undriven_one_drives_both(client: Client, apply_yaml) -> None:
    """`run --wait` of a later date while an earlier run of a `max_active_runs: 1` workflow sits
    queued with nobody driving it (started without --wait, no scheduler): the waiting command
    drives the earlier one first instead of waiting for ever. Same for a backfill's runs."""
    apply_yaml("name: one_at_a_time\nmax_active_runs: 1\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    earlier = trigger_run(client.store, "one_at_a_time", logical_date="2026-01-01")
    later = trigger_run(client.store, "one_at_a_time", logical_date="2026-02-01")
    client.wait([later], timeout=60)
    assert [get_run(client.store, r).state for r in (earlier, later)] == ["success", "success"]
    apply_yaml("name: bf_wait\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    ids = client.backfill("bf_wait", start=date(2026, 6, 1), end=date(2026, 6, 3))
    client.wait([ids[-1]], timeout=60)
    assert {get_run(client.store, r).state for r in ids} == {"success"}


def test_backfill_rejects_an_inverted_range(client: Client, apply_yaml) -> None:
    apply_yaml("name: bfx\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    with pytest.raises(InvalidInput, match="before"):
        client.backfill("bfx", start=date(2026, 1, 5), end=date(2026, 1, 1))


def test_schedule_tick_creates_due_runs_with_and_without_catchup(client: Client, apply_yaml) -> None:
    apply_yaml("""
        name: cron_catchup
        schedule: {cron: "0 * * * *", start: "2026-01-01", catchup: true}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    apply_yaml("""
        name: cron_latest
        schedule: {cron: "0 * * * *", start: "2026-01-01", catchup: false}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    # Pretend both schedules were due since 00:00 and it is now 03:30 on Jan 1st.
    start = datetime(2026, 1, 1)
    with client.engine.begin() as conn:
        conn.execute(update(schedules).values(next_fire_at=start))
    created = tick_schedules(client.store, now=datetime(2026, 1, 1, 3, 30, tzinfo=UTC))
    infos = [get_run(client.store, r) for r in created]
    catchup = sorted(i.logical_date.hour for i in infos if i.workflow == "cron_catchup")
    latest = [i.logical_date.hour for i in infos if i.workflow == "cron_latest"]
    assert catchup == [0, 1, 2, 3] and latest == [3]
    assert {i.trigger for i in infos} == {"schedule"}
    # A second tick at the same moment creates nothing more.
    assert tick_schedules(client.store, now=datetime(2026, 1, 1, 3, 30, tzinfo=UTC)) == []


def test_catch_up_creates_only_the_latest_max_catchup_runs(
    client: Client, apply_yaml, caplog: pytest.LogCaptureFixture
) -> None:
    apply_yaml("""
        name: minutely
        schedule: {cron: "* * * * *", start: "2016-01-01", catchup: true}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    apply_yaml("""
        name: minutely_latest
        schedule: {cron: "* * * * *", start: "2016-01-01", catchup: false}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    client.store.settings.max_catchup = 5
    # Ten years of minutes are due (over five million fire times).
    with client.engine.begin() as conn:
        conn.execute(update(schedules).values(next_fire_at=datetime(2016, 1, 1)))
    now = datetime(2026, 1, 1, 3, 30, 30, tzinfo=UTC)
    created = tick_schedules(client.store, now=now)
    infos = [get_run(client.store, r) for r in created]
    caught_up = sorted(i.logical_date.minute for i in infos if i.workflow == "minutely")
    latest = [i.logical_date.minute for i in infos if i.workflow == "minutely_latest"]
    assert caught_up == [26, 27, 28, 29, 30] and latest == [30]
    assert "more than 5 fire times are due; catching up the latest 5" in caplog.text
    assert tick_schedules(client.store, now=now) == []
    assert _next_fire(client) == datetime(2026, 1, 1, 3, 31)


def test_a_schedule_that_cannot_fire_does_not_stop_the_others(
    client: Client, apply_yaml, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("broken", "healthy"):
        apply_yaml(f"name: {name}\nschedule: {{cron: '0 * * * *'}}\ntasks: [{{name: a, type: shell, command: 'true'}}]")
    with client.engine.begin() as conn:
        conn.execute(update(schedules).values(next_fire_at=datetime(2026, 1, 1)))
    real = scheduler.trigger_run

    def trigger(store, name, **kwargs):  # type: ignore[no-untyped-def]
        if name == "broken":
            raise OverflowError("date value out of range")  # e.g. what a bad stored value did
        return real(store, name, **kwargs)

    monkeypatch.setattr(scheduler, "trigger_run", trigger)
    now = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    created = tick_schedules(client.store, now=now)
    assert [get_run(client.store, r).workflow for r in created] == ["healthy"]
    assert "schedule of broken could not fire (OverflowError: date value out of range)" in caplog.text
    # It moved on: the next tick does not fail on the same fire time again.
    caplog.clear()
    assert tick_schedules(client.store, now=now) == [] and "broken" not in caplog.text


def _hours(client: Client, created: list[int]) -> list[int]:
    return sorted(get_run(client.store, r).logical_date.hour for r in created)


def _next_fire(client: Client) -> datetime | None:
    with client.engine.connect() as conn:
        return conn.execute(select(schedules.c.next_fire_at)).scalar()


def test_a_catch_up_schedule_moved_back_fills_the_gap_and_goes_on(client: Client, apply_yaml) -> None:
    """Moving `start` (or the cron) back makes the schedule count again from times that already
    have runs: those are skipped, the rest are created, and the schedule goes on (it used to stop
    for good, failing every tick on the runs' unique key)."""
    wf = "name: moved_back\nschedule: {{cron: '0 * * * *', timezone: UTC, start: '{start}', catchup: true}}\n"
    wf += "tasks: [{{name: a, type: shell, command: 'true'}}]\n"
    now = datetime(2026, 1, 1, 5, 30, tzinfo=UTC)
    apply_yaml(wf.format(start="2026-01-01T03:00"))
    assert _hours(client, tick_schedules(client.store, now=now)) == [3, 4, 5]
    apply_yaml(wf.format(start="2026-01-01T01:00"))
    assert _hours(client, tick_schedules(client.store, now=now)) == [1, 2]
    assert _next_fire(client) == datetime(2026, 1, 1, 6)
    assert tick_schedules(client.store, now=now) == []


def test_a_schedule_that_ended_goes_on_when_its_end_moves_later(client: Client, apply_yaml) -> None:
    wf = "name: extended\nschedule: {{cron: '0 * * * *', timezone: UTC, start: '2026-01-01T00:00', "
    wf += "end: '{end}', catchup: true}}\ntasks: [{{name: a, type: shell, command: 'true'}}]\n"
    now = datetime(2026, 1, 1, 5, 30, tzinfo=UTC)
    apply_yaml(wf.format(end="2026-01-01T02:00"))
    assert _hours(client, tick_schedules(client.store, now=now)) == [0, 1, 2]
    assert _next_fire(client) is None  # ended
    apply_yaml(wf.format(end="2026-01-01T04:00"))
    assert _hours(client, tick_schedules(client.store, now=now)) == [3, 4]


def test_resuming_a_schedule_that_has_not_begun_keeps_its_start(client: Client, apply_yaml) -> None:
    apply_yaml("""
        name: later
        schedule: {cron: "0 6 * * *", timezone: UTC, start: "2030-01-01"}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    assert _next_fire(client) == datetime(2030, 1, 1, 6)
    set_paused(client.store, "later", True)
    set_paused(client.store, "later", False)
    assert _next_fire(client) == datetime(2030, 1, 1, 6)
    assert tick_schedules(client.store, now=datetime.now(UTC) + timedelta(days=1)) == []


def test_paused_schedule_creates_no_runs(client: Client, apply_yaml) -> None:
    apply_yaml("""
        name: pausable
        schedule: {cron: "* * * * *"}
        tasks: [{name: a, type: shell, command: 'true'}]
        """)
    set_paused(client.store, "pausable", True)
    with pytest.raises(Conflict):
        set_paused(client.store, "pausable", True)
    future = datetime.now(UTC) + timedelta(hours=1)
    assert tick_schedules(client.store, now=future) == []
    set_paused(client.store, "pausable", False)
    assert len(tick_schedules(client.store, now=future)) == 1
    with pytest.raises(NotFound):
        set_paused(client.store, "no_such_wf", True)


def test_unknown_disable_and_bad_date_change_nothing(client: Client, apply_yaml) -> None:
    apply_yaml("name: guard\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    with pytest.raises(InvalidInput, match="nope"):
        trigger_run(client.store, "guard", disabled=["nope"])
    with pytest.raises(InvalidInput, match="date"):
        trigger_run(client.store, "guard", logical_date="31/01/2026")
    with client.engine.connect() as conn:
        assert conn.execute(select(runs.c.id)).all() == []


@pytest.mark.parametrize(("value", "message"), [
    ("${nope}", r"-p q=\$\{nope\}: undefined parameter \$\{nope\}; it can use: .*ds"),
    ("${a.v}", "cannot read task outputs"),
    ("$[yyyyMMddQ]", "-p q=\\$\\[yyyyMMddQ\\]"),
])
def test_a_run_time_param_value_is_checked_before_a_run_exists(
    client: Client, apply_yaml, value: str, message: str
) -> None:
    apply_yaml("name: pv\nparams: {q: x, other: y}\ntasks: [{name: a, type: shell, command: 'echo ${q}'}]\n")
    with pytest.raises(InvalidInput, match=message):
        trigger_run(client.store, "pv", params={"q": value})
    with client.engine.connect() as conn:
        assert conn.execute(select(runs.c.id)).all() == []
    good = trigger_run(client.store, "pv", params={"q": "${other}-$[yyyyMMdd-1]-$${literal}"})
    client.wait([good], timeout=60)
    assert get_run(client.store, good).state == "success"


def test_apply_says_when_catch_up_is_larger_than_the_cap(client: Client, workdir) -> None:  # type: ignore[no-untyped-def]
    client.store.settings.max_catchup = 10
    path = workdir / "cu.yaml"
    path.write_text("name: cu\nschedule: {cron: '0 * * * *', start: '2026-01-01', catchup: true}\n"
                    "tasks: [{name: a, type: shell, command: 'true'}]\n")
    (result,) = client.apply_path(path)
    assert result.notes and "more than 10 fire times" in result.notes[0] and "shoal backfill cu" in result.notes[0]
    path.write_text(path.read_text().replace("catchup: true", "catchup: false"))
    (result,) = client.apply_path(path)
    assert result.notes == ()
