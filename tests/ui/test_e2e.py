"""A new user's first session in the web UI, in a real browser against a real `shoal server`:
log in with the token the server printed, find a workflow by search, run it with a task
disabled, watch the run succeed live on its DAG, read a task's log, rerun from a task; and a
viewer, who finds no button that changes anything."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.api.conftest import Server
from tests.ui.conftest import log_in, token_of, viewer_token

PIPELINE = """name: ui_tour
description: a tour of the web UI
params: {greeting: hello}
tasks:
  - {name: extract, type: shell, command: 'echo "${greeting} from extract"; sleep 1'}
  - {name: train, type: shell, command: 'echo training; sleep 1', upstream: [extract]}
  - {name: report, type: shell, command: 'echo report', upstream: [train]}
  - {name: notify, type: shell, command: 'echo notify', upstream: [train]}
"""


def test_a_new_user_runs_a_workflow_and_watches_it_live(server: Server, open_page: Any) -> None:
    assert server.api.post("/api/v1/workflows", json={"content": PIPELINE}).status_code == 201
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page

    w.allowed.add(401)  # a wrong token first: the page says why, in plain words
    page.goto("/")
    w.shot("login")
    page.get_by_test_id("login-token").fill("shoal_not-a-real-token")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_text(re.compile("unknown token", re.I))).to_be_visible()
    w.allowed.clear()
    log_in(w, token_of(server))

    page.get_by_test_id("nav-workflows").click()
    page.get_by_test_id("workflows-search").fill("ui_to")
    row = page.get_by_test_id("workflow-row-ui_tour")
    expect(row).to_be_visible()
    w.shot("workflows")

    page.get_by_test_id("run-button-ui_tour").click()
    page.get_by_test_id("run-dialog-disable-notify").check()
    w.shot("run-dialog")
    page.get_by_test_id("run-dialog-submit").click()

    run_id = _newest_run(server)
    page.wait_for_url(re.compile(rf"/runs/default/{run_id}$"))  # the dialog opens the new run
    expect(page.get_by_test_id("run-state")).to_have_text(re.compile("success"), timeout=60_000)
    expect(page.get_by_test_id("dag-node-extract")).to_have_attribute("data-state", "success")
    assert server.api.get(f"/api/v1/projects/default/runs/{run_id}").json()["disabled"] == ["notify"]
    w.shot("run")

    page.get_by_test_id("dag-node-extract").click()
    expect(page.get_by_test_id("task-panel")).to_be_visible()
    expect(page.get_by_test_id("task-log")).to_contain_text("hello from extract")
    page.get_by_test_id("log-search").fill("hello")
    expect(page.get_by_test_id("task-log")).to_contain_text("hello")
    w.shot("task-log")

    page.get_by_test_id("dag-node-train").click()
    page.get_by_test_id("rerun-from-task").click()
    # The panel shows train's second attempt as it comes, and the run succeeds again, live.
    expect(page.get_by_test_id("task-attempt-2")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("dag-node-train")).to_have_attribute("data-state", "success", timeout=60_000)
    expect(page.get_by_test_id("run-state")).to_have_text(re.compile("success"), timeout=60_000)
    attempts = {t["task"]: t["attempt"] for t in
                server.api.get(f"/api/v1/projects/default/runs/{run_id}").json()["tasks"]}
    assert attempts["train"] == 2 and attempts["extract"] == 1, attempts

    page.get_by_test_id("nav-runs").click()
    expect(page.get_by_test_id(f"runs-row-{run_id}")).to_be_visible()
    w.shot("runs")

    page.get_by_test_id("nav-workflows").click()
    page.get_by_test_id("workflows-state-filter").select_option("success")
    expect(page.get_by_test_id("workflow-row-ui_tour")).to_contain_text("admin")  # its owner
    page.get_by_test_id("workflows-state-filter").select_option("none")  # never run: not this one
    expect(page.get_by_test_id("workflows-empty")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/workflows\?last_state=none$"))


def test_a_viewer_sees_no_button_that_changes_anything(server: Server, open_page: Any) -> None:
    api = server.api
    api.post("/api/v1/workflows", json={"content": PIPELINE.replace("name: ui_tour", "name: ui_view")
                                        .replace("description:", "project: shared\ndescription:")})
    token = viewer_token(server, "vera", "shared")
    w = open_page(f"http://127.0.0.1:{server.port}")
    log_in(w, token)
    w.page.get_by_test_id("nav-workflows").click()
    expect(w.page.get_by_test_id("workflow-row-ui_view")).to_be_visible()
    expect(w.page.get_by_test_id("workflow-row-ui_tour")).to_have_count(0)  # another project's
    expect(w.page.get_by_test_id("run-button-ui_view")).to_have_count(0)


def _newest_run(server: Server) -> int:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items = server.api.get("/api/v1/runs", params={"workflow": "ui_tour", "limit": 1}).json()["items"]
        if items:
            return int(items[0]["id"])
        time.sleep(0.1)
    raise AssertionError("no run of ui_tour was started from the run dialog")
