"""`shoal schedule list`: the same names as `workflow show` for the same facts."""

from __future__ import annotations

import json

from tests.cli.conftest import HELLO


def test_schedule_list_and_workflow_show_name_the_next_fire_time_alike(cli) -> None:  # type: ignore[no-untyped-def]
    cli("workflow", "apply", str(HELLO))
    listed = json.loads(cli("schedule", "list", "--json").output)[0]
    shown = json.loads(cli("workflow", "show", "hello_ml", "--json").output)["schedule"]
    assert listed["next_fire_at"] is not None
    assert listed["next_fire_at"] == shown["next_fire_at"]
    assert set(listed) >= {"project", "workflow", "cron", "timezone", "catchup", "paused", "next_fire_at"}


WF = "name: w\nsecrets: [token]\nparams: {token: hunter2}\ntasks: [{name: a, type: shell, command: 'echo hi'}]\n"


def test_schedule_set_and_unset_store_new_versions(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "w.yaml"
    path.write_text(WF)
    assert cli("workflow", "apply", str(path)).exit_code == 0
    r = cli("schedule", "set", "w", "--cron", "30 2 * * *", "--timezone", "Asia/Shanghai", "--start", "2026-01-01")
    assert r.exit_code == 0, r.output
    assert "version 2 stored" in r.output and "next fire" in r.output
    shown = json.loads(cli("workflow", "show", "w", "--json").output)
    assert shown["version"] == 2 and shown["schedule"]["timezone"] == "Asia/Shanghai"
    assert shown["definition"]["schedule"]["start"] == "2026-01-01"
    again = json.loads(cli("schedule", "set", "w", "--cron", "30 2 * * *", "--timezone", "Asia/Shanghai",
                           "--start", "2026-01-01", "--json").output)
    assert (again["version"], again["changed"]) == (2, False)

    bad = cli("schedule", "set", "w", "--cron", "0 2 * * *", "--timezone", "Mars/Olympus")
    assert bad.exit_code == 2 and "unknown timezone 'Mars/Olympus'" in bad.output, bad.output
    assert cli("schedule", "set", "nope", "--cron", "@daily").exit_code == 2

    r = cli("schedule", "unset", "w")
    assert r.exit_code == 0 and "version 3 stored with no schedule" in r.output, r.output
    assert json.loads(cli("schedule", "list", "--json").output) == []
    # The secret was never shown and is kept as stored: exporting shows it masked, as before.
    assert "hunter2" not in r.output and "***" in cli("workflow", "export", "w").output
    assert "unchanged" in cli("schedule", "unset", "w").output
