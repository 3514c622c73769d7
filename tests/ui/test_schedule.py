"""Scheduling from the web UI, in a real browser against a real `shoal server`: set a daily
schedule through the cron builder (its words and next fire times from the server), see it on
the workflow's page and in the list, reopen it as its preset; diff two versions and restore
the first; start a small backfill from the run dialog and find its runs in the runs list."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.api.conftest import Server
from tests.conftest import wait_until
from tests.ui.conftest import log_in, token_of, viewer_token

WF = """name: nightly
description: trains every night
params: {greeting: hello}
tasks:
  - {name: extract, type: shell, command: 'echo "${greeting}"'}
  - {name: train, type: shell, command: 'echo training', upstream: [extract]}
"""
BASE = "/api/v1/projects/default/workflows/nightly"


def test_schedule_a_workflow_diff_and_restore_versions_and_backfill(server: Server, open_page: Any) -> None:
    assert server.api.post("/api/v1/workflows", json={"content": WF}).status_code == 201
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, token_of(server))
    page.goto("/workflows/default/nightly")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("none")

    # Set a schedule: every day at 02:30, Shanghai time.
    page.get_by_test_id("schedule-edit").click()
    dialog = page.get_by_test_id("schedule-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("cron-preset").select_option("daily")
    page.get_by_test_id("cron-time").fill("02:30")
    expect(page.get_by_test_id("cron-expression")).to_have_value("30 2 * * *")
    page.get_by_test_id("schedule-timezone").fill("Asia/Shanghai")
    expect(page.get_by_test_id("cron-description")).to_have_text("At 02:30")
    fire_times = page.get_by_test_id("fire-times")
    expect(fire_times).to_contain_text("Asia/Shanghai")
    expect(fire_times.locator("tbody tr")).to_have_count(5)
    # The times are the server's: the first is the next 02:30 in Shanghai, as the scheduler has it.
    first = server.api.post("/api/v1/schedules/preview", json={"cron": "30 2 * * *",
                                                               "timezone": "Asia/Shanghai"}).json()["local"][0]
    expect(fire_times.locator("tbody tr").first).to_contain_text(f"{first[:10]} 02:30")
    w.shot("schedule-dialog")
    page.get_by_test_id("schedule-save").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("workflow-version")).to_have_text("v2")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("30 2 * * *")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("Asia/Shanghai")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("next")
    shown = server.api.get(BASE).json()
    assert shown["version"] == 2
    assert shown["definition"]["schedule"] == {"cron": "30 2 * * *", "timezone": "Asia/Shanghai"}

    # The list shows it with its next fire time.
    page.get_by_test_id("nav-workflows").click()
    row = page.get_by_test_id("workflow-row-nightly")
    expect(row).to_contain_text("30 2 * * *")
    expect(row).to_contain_text("next")

    # Reopened, the dialog shows the preset that made it; a bad expression gets the server's words.
    row.get_by_role("link", name="nightly").click()
    page.get_by_test_id("schedule-edit").click()
    expect(page.get_by_test_id("cron-preset")).to_have_value("daily")
    expect(page.get_by_test_id("cron-time")).to_have_value("02:30")
    expect(page.get_by_test_id("schedule-timezone")).to_have_value("Asia/Shanghai")
    w.allowed.add(422)  # the preview refuses the expression: the page says why, on the field
    page.get_by_test_id("cron-preset").select_option("custom")
    page.get_by_test_id("cron-expression").fill("61 2 * * *")
    expect(page.get_by_test_id("schedule-cron-error")).to_contain_text("out of range")
    page.get_by_test_id("schedule-cancel").click()
    expect(page.get_by_test_id("schedule-dialog")).to_be_hidden()
    w.allowed.clear()
    assert len(server.api.get(f"{BASE}/versions").json()) == 2  # "Not now" stored nothing

    # What changed from v1 to the current version, then v1 back as v3.
    page.get_by_test_id("diff-version-1").click()
    diff = page.get_by_test_id("version-diff")
    expect(diff.locator(".diff-line.add", has_text="cron: 30 2 * * *")).to_be_visible()
    expect(page.get_by_test_id("diff-old")).to_have_value("1")
    expect(page.get_by_test_id("diff-new")).to_have_value("2")
    w.shot("version-diff")
    page.get_by_test_id("restore-version-1").click()
    page.get_by_test_id("restore-confirm").click()
    expect(page.get_by_test_id("workflow-version")).to_have_text("v3")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("none")
    expect(page.get_by_test_id("version-row-3")).to_be_visible()
    assert server.api.get(f"{BASE}/diff", params={"old": 1, "new": 3}).json()["diff"] == ""

    # A backfill of three days, two at a time.
    page.get_by_test_id("run-button-nightly").click()
    page.get_by_test_id("run-mode-backfill").click()
    page.get_by_test_id("backfill-start").fill("2026-01-01")
    page.get_by_test_id("backfill-end").fill("2026-01-03")
    page.get_by_test_id("backfill-parallelism").fill("2")
    expect(page.get_by_test_id("backfill-count")).to_contain_text("3 runs")
    expect(page.get_by_test_id("run-dialog-submit")).to_have_text("Start 3 runs")
    w.shot("backfill")
    page.get_by_test_id("run-dialog-submit").click()
    page.wait_for_url(re.compile(r"/runs\?workflow=nightly&trigger=backfill$"))
    runs = server.api.get("/api/v1/runs", params={"workflow": "nightly", "trigger": "backfill"}).json()["items"]
    assert sorted(r["logical_date"][:10] for r in runs) == ["2026-01-01", "2026-01-02", "2026-01-03"]
    for r in runs:
        expect(page.get_by_test_id(f"runs-row-{r['id']}")).to_be_visible()
    expect(page.get_by_test_id("runs-filter-trigger")).to_have_value("backfill")

    def all_succeeded() -> bool:
        items = server.api.get("/api/v1/runs", params={"workflow": "nightly"}).json()["items"]
        return len(items) == 3 and all(r["state"] == "success" for r in items)

    wait_until(all_succeeded, 120)  # leave the server with nothing running


def test_a_viewer_can_diff_versions_but_not_schedule_or_restore(server: Server, open_page: Any) -> None:
    wf = WF.replace("name: nightly", "name: watched")
    assert server.api.post("/api/v1/workflows", json={"content": wf}).status_code == 201
    put = server.api.put("/api/v1/projects/default/workflows/watched/schedule", json={"cron": "@daily"})
    assert put.status_code == 200, put.text
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, viewer_token(server, "vera", "default"))
    page.goto("/workflows/default/watched")
    expect(page.get_by_test_id("workflow-schedule")).to_contain_text("@daily")
    expect(page.get_by_test_id("version-row-2")).to_be_visible()
    expect(page.get_by_test_id("schedule-edit")).to_have_count(0)
    expect(page.get_by_test_id("restore-version-1")).to_have_count(0)
    page.get_by_test_id("diff-version-1").click()
    expect(page.get_by_test_id("version-diff").locator(".diff-line.add", has_text="cron: '@daily'")).to_be_visible()
