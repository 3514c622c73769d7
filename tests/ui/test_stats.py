"""Statistics in a real browser against a real `shoal server`: a workflow run a few times (one
run fails through a param) shows on /stats as runs per day and as a duration line with one
point per run and its success rate; a point opens its run; the Workflows list draws the same
runs as a sparkline, and the workflow's page the same chart."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.api.conftest import Server
from tests.conftest import wait_until
from tests.ui.conftest import log_in, token_of

FLAKY = """name: ui_stats
description: sleeps a while, fails when asked
params: {nap: '0.1', code: '0'}
tasks:
  - {name: work, type: shell, command: 'sleep ${nap}; exit ${code}'}
"""


def _run_all(server: Server) -> list[int]:
    """Four runs, oldest first: three succeed (taking longer each time), one fails."""
    ids = []
    for params in ({"nap": "0.1"}, {"nap": "0.6"}, {"code": "3"}, {"nap": "1.1"}):
        r = server.api.post("/api/v1/runs", json={"workflow": "ui_stats", "params": params})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    def ended() -> bool:
        states = [server.api.get(f"/api/v1/projects/default/runs/{i}").json()["state"] for i in ids]
        return all(s in ("success", "failed", "stopped") for s in states)

    wait_until(ended, 120, interval=0.2)
    return ids


def test_durations_success_rate_and_sparklines(server: Server, open_page: Any) -> None:
    assert server.api.post("/api/v1/workflows", json={"content": FLAKY}).status_code == 201
    ids = _run_all(server)
    states = [server.api.get(f"/api/v1/projects/default/runs/{i}").json()["state"] for i in ids]
    assert states == ["success", "success", "failed", "success"], states

    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, token_of(server))

    page.get_by_test_id("nav-stats").click()
    per_day = page.get_by_test_id("runs-per-day-chart")
    expect(per_day).to_have_attribute("data-total", "4")
    expect(per_day).to_have_attribute("data-days", "30")
    expect(page.get_by_test_id("stats-pick")).to_be_visible()

    page.get_by_test_id("stats-workflow").select_option("default/ui_stats")
    expect(page).to_have_url(re.compile(r"/stats\?workflow=default%2Fui_stats$"))
    chart = page.get_by_test_id("duration-chart")
    expect(chart).to_have_attribute("data-points", "4")
    expect(chart.locator("[data-testid^='duration-point-']")).to_have_count(4)
    expect(page.get_by_test_id(f"duration-point-{ids[2]}")).to_have_attribute("data-state", "failed")
    expect(page.get_by_test_id("duration-summary-success")).to_have_text(re.compile("75%"))
    expect(page.get_by_test_id("duration-summary")).to_contain_text("4 of 4 finished")
    # The longest run is drawn highest (a smaller y), the shortest lowest.
    cy = {i: float(page.get_by_test_id(f"duration-point-{i}").get_attribute("cy") or "nan") for i in ids}
    assert cy[ids[3]] < cy[ids[1]] < cy[ids[0]], cy

    page.get_by_test_id(f"duration-point-{ids[1]}").hover()
    expect(page.get_by_test_id("duration-tooltip")).to_contain_text(f"Run #{ids[1]}")
    page.get_by_test_id("duration-last").select_option("20")
    expect(chart).to_have_attribute("data-points", "4")
    w.shot("stats")

    page.get_by_test_id(f"duration-point-{ids[2]}").click()
    page.wait_for_url(re.compile(rf"/runs/default/{ids[2]}$"))
    expect(page.get_by_test_id("run-state")).to_have_attribute("data-state", "failed")

    page.get_by_test_id("nav-workflows").click()
    spark = page.get_by_test_id("sparkline-ui_stats")
    expect(spark).to_have_attribute("data-runs", "4")
    expect(spark.locator("g[data-state]")).to_have_count(4)
    expect(spark.locator("g[data-state='failed']")).to_have_count(1)
    expect(spark).to_have_attribute("aria-label", re.compile("3 succeeded, 1 failed"))

    page.get_by_test_id("workflow-row-ui_stats").get_by_role("link", name="ui_stats").click()
    expect(page.get_by_test_id("workflow-name")).to_have_text("ui_stats")
    expect(page.get_by_test_id("duration-chart")).to_have_attribute("data-points", "4")
    expect(page.get_by_test_id("duration-summary-success")).to_have_text(re.compile("75%"))
