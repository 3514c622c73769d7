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
