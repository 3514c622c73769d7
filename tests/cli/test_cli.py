"""The `shoal` CLI as a user types it: exit codes, --json, errors that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import HELLO, assert_nothing_stored


@pytest.mark.slow
def test_apply_run_wait_show_logs(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("workflow", "apply", str(HELLO))
    assert r.exit_code == 0 and "version 1 stored" in r.output
    r = cli("workflow", "apply", str(HELLO))
    assert "unchanged" in r.output
    r = cli("run", "hello_ml", "--wait", "--date", "2026-03-01", "-p", "region=us")
    assert r.exit_code == 0, r.output
    runs = json.loads(cli("runs", "list", "--json").output)
    assert runs[0]["workflow"] == "hello_ml" and runs[0]["state"] == "success"
    run_id = str(runs[0]["id"])
    shown = json.loads(cli("runs", "show", run_id, "--json").output)
    assert {t["task"]: t["state"] for t in shown["tasks"]}["skip_train"] == "skipped"
    r = cli("runs", "logs", run_id, "extract")
    assert r.exit_code == 0 and "extracting us for 2026-03-01" in r.output


@pytest.mark.slow
def test_run_failure_exits_1(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "bad.yaml"
    f.write_text("name: fails\ntasks: [{name: x, type: shell, command: 'false'}]\n")
    assert cli("workflow", "apply", str(f)).exit_code == 0
    assert cli("run", "fails", "--wait").exit_code == 1


@pytest.mark.slow
def test_invalid_workflow_exits_2_and_stores_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "cyclic.yaml"
    f.write_text(
        "name: cyc\ntasks:\n"
        "  - {name: a, type: shell, command: 'true', upstream: [b]}\n"
        "  - {name: b, type: shell, command: 'true', upstream: [a]}\n"
    )
    r = cli("workflow", "apply", str(f))
    assert r.exit_code == 2
    flat = " ".join(r.output.split())
    assert "cyclic.yaml" in flat and "cycle" in flat
    assert_nothing_stored(cli)


@pytest.mark.slow
def test_bad_params_and_unknown_names_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    assert cli("run", "hello_ml", "-p", "novalue").exit_code == 2
    typo = cli("run", "hello_ml", "-p", "regoin=us")
    assert typo.exit_code == 2
    flat = " ".join(typo.output.split())
    assert "no parameter 'regoin'" in flat and "region, threshold" in flat
    assert cli("run", "nope").exit_code == 2
    assert cli("run", "hello_ml", "--disable", "ghost").exit_code == 2
    assert cli("runs", "show", "999").exit_code == 2
    assert cli("backfill", "hello_ml", "--start", "2026-01-05", "--end", "2026-01-01").exit_code == 2
    assert json.loads(cli("runs", "list", "--json").output) == []


@pytest.mark.slow
def test_export_round_trips_in_every_format(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    for fmt, suffix in (("yaml", "yaml"), ("json", "json"), ("py", "py")):
        out = tmp_path / f"exported.{suffix}"
        r = cli("workflow", "export", "hello_ml", "--format", fmt, "-o", str(out))
        assert r.exit_code == 0, r.output
        r = cli("workflow", "apply", str(out))
        assert r.exit_code == 0 and "unchanged" in r.output, (fmt, r.output)


@pytest.mark.slow
def test_workflow_list_search_show_and_delete(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    f = tmp_path / "other.yaml"
    f.write_text("name: other\ndescription: nothing here\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    cli("workflow", "apply", str(f), "--project", "teamb")
    names = [w["name"] for w in json.loads(cli("workflow", "list", "--json", "--search", "branch").output)]
    assert names == ["hello_ml"]
    unscheduled = json.loads(cli("workflow", "list", "--json", "--schedule", "none").output)
    assert [(w["name"], w["owner"]) for w in unscheduled] == [("other", "local")]  # hello_ml has a schedule
    refused = cli("workflow", "list", "--last-state", "done")
    assert refused.exit_code == 2 and "last_state 'done'" in refused.output and "success" in refused.output
    shown = json.loads(cli("workflow", "show", "other", "--project", "teamb", "--json").output)
    assert shown["project"] == "teamb" and shown["version"] == 1
    assert cli("workflow", "show", "other").exit_code == 2  # it lives in teamb, not default
    assert cli("workflow", "delete", "other", "--project", "teamb", "--yes").exit_code == 0
    assert cli("workflow", "show", "other", "--project", "teamb").exit_code == 2


@pytest.mark.slow
def test_schedule_list_pause_resume(cli) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    rows = json.loads(cli("schedule", "list", "--json").output)
    assert rows[0]["workflow"] == "hello_ml" and rows[0]["cron"] == "0 2 * * *" and not rows[0]["paused"]
    assert cli("schedule", "pause", "hello_ml").exit_code == 0
    assert json.loads(cli("schedule", "list", "--json").output)[0]["paused"] is True
    assert cli("schedule", "pause", "hello_ml").exit_code == 2  # already paused: a conflict, nothing changed
    assert cli("schedule", "resume", "hello_ml").exit_code == 0


@pytest.mark.slow
def test_backfill_wait_and_rerun_recover(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "daily.yaml"
    f.write_text("name: daily\ntasks: [{name: x, type: shell, command: 'echo ${ds}'}]\n")
    cli("workflow", "apply", str(f))
    r = cli("backfill", "daily", "--start", "2026-01-01", "--end", "2026-01-03", "--parallel", "2", "--wait")
    assert r.exit_code == 0, r.output
    runs = json.loads(cli("runs", "list", "--json").output)
    assert sorted(r["logical_date"][:10] for r in runs) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    run_id = str(runs[0]["id"])
    assert cli("runs", "rerun", run_id, "--from", "x", "--wait").exit_code == 0
    assert cli("runs", "recover", run_id).exit_code == 2  # succeeded: nothing to recover


def test_switch_condition_syntax_is_checked_at_apply(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "badswitch.yaml"
    f.write_text(
        "name: bs\ntasks:\n"
        "  - {name: a, type: shell, command: 'true'}\n"
        "  - name: s\n    type: switch\n    upstream: [a]\n"
        "    cases: [{when: '${a.x} >>> 3', then: b}]\n"
        "  - {name: b, type: shell, command: 'true', upstream: [s]}\n"
    )
    r = cli("workflow", "apply", str(f))
    flat = " ".join(r.output.split())
    assert r.exit_code == 2
    assert "badswitch.yaml:7" in flat and "task 's'" in flat and "cases[0].when" in flat


@pytest.mark.slow
def test_runs_wait_drives_a_queued_run(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "q.yaml"
    f.write_text("name: q\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    cli("workflow", "apply", str(f))
    r = cli("run", "q")
    assert r.exit_code == 0 and "queued" in r.output
    run_id = str(json.loads(cli("runs", "list", "--json").output)[0]["id"])
    assert cli("runs", "wait", run_id).exit_code == 0
    assert json.loads(cli("runs", "show", run_id, "--json").output)["state"] == "success"
    assert cli("runs", "wait", "4242").exit_code == 2


@pytest.mark.slow
def test_run_and_backfill_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "j.yaml"
    f.write_text("name: j\ntasks: [{name: x, type: shell, command: 'true'}]\n")
    cli("workflow", "apply", str(f))
    queued = json.loads(cli("run", "j", "--json").output)
    assert queued["state"] == "queued" and queued["workflow"] == "j"
    r = cli("run", "j", "--json", "--wait", "--date", "2026-02-03")
    done = json.loads(r.output)
    assert r.exit_code == 0 and done["state"] == "success" and done["logical_date"].startswith("2026-02-03")
    r = cli("backfill", "j", "--start", "2026-01-01", "--end", "2026-01-02", "--json", "--wait")
    runs = json.loads(r.output)
    assert r.exit_code == 0 and [x["state"] for x in runs] == ["success", "success"]
