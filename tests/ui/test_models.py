"""Models in the web UI: the TalkingData workflow trains and releases two versions on a real
`shoal server`; the user opens the model, sees its versions with their metrics and the run
that trained each, opens a version's evaluation pictures (ROC and PR curves, confusion matrix,
feature importance), rolls `production` back to version 1 and releases version 2 again; a
viewer of the project sees no release or rollback button."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.api.conftest import Server
from tests.ui.conftest import log_in, token_of, viewer_token

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    """Two released versions of `talkingdata` (two runs of the example workflow)."""
    data = tmp_path_factory.mktemp("clicks") / "clicks.csv"
    subprocess.run([sys.executable, str(REPO / "examples/talkingdata/make_data.py"), str(data), "--rows", "60000"],
                   check=True, capture_output=True)
    api = server.api
    # Applied on the server's machine, as its owner does: the workflow's `sql_file` is beside it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    subprocess.run([sys.executable, "-m", "shoal.cli.entry", "workflow", "apply",
                    str(REPO / "examples/talkingdata/workflow.yaml")],
                   env={**env, "SHOAL_HOME": str(server.home / "home")}, check=True, capture_output=True)
    for _ in range(2):
        run = api.post("/api/v1/runs", json={"workflow": "talkingdata", "params": {"data": str(data)}}).json()
        deadline = time.monotonic() + 240
        while (state := api.get(f"/api/v1/projects/default/runs/{run['id']}").json()["state"]) not in (
                "success", "failed"):
            assert time.monotonic() < deadline, "the TalkingData run did not end in 4 minutes"
            time.sleep(0.5)
        info = api.get(f"/api/v1/projects/default/runs/{run['id']}").json()
        assert state == "success", [(t["task"], t["state"], t["error"]) for t in info["tasks"] if t["error"]]
    versions = api.get("/api/v1/projects/default/models/talkingdata/versions").json()
    assert len(versions) == 2, versions
    return server


def open_row(page: Any, nav: str, rows: str, name: str = "talkingdata") -> None:
    """From the header's `nav` link to the page of `name` in its list (the name is the link)."""
    page.get_by_test_id(nav).click()
    page.get_by_test_id(f"{rows}-{name}").get_by_role("link", name=name).click()


def test_a_model_is_rolled_back_and_released_from_its_page(trained: Server, open_page: Any) -> None:
    w = open_page(f"http://127.0.0.1:{trained.port}")
    page = w.page
    log_in(w, token_of(trained))
    open_row(page, "nav-models", "models-row")
    expect(page.get_by_test_id("model-version-row-1")).to_contain_text(re.compile("auc", re.I))
    expect(page.get_by_test_id("model-version-row-2")).to_be_visible()
    expect(page.get_by_test_id("model-alias-production")).to_contain_text("2")
    w.shot("model")

    page.get_by_test_id("rollback-button-production").click()
    page.get_by_test_id("rollback-confirm").click()
    expect(page.get_by_test_id("model-alias-production")).to_contain_text("1")
    page.get_by_test_id("release-button").click()
    page.get_by_test_id("release-version").select_option("2")
    page.get_by_test_id("release-confirm").click()
    expect(page.get_by_test_id("model-alias-production")).to_contain_text("2")
    expect(page.get_by_test_id("release-history")).to_contain_text(re.compile("roll", re.I))
    w.shot("model-released")
    history = trained.api.get("/api/v1/projects/default/models/talkingdata/releases",
                              params={"alias": "production"}).json()
    assert [(h["action"], h["to_version"]) for h in history][-2:] == [("rollback", 1), ("release", 2)], history


def test_a_version_shows_its_evaluation_pictures(trained: Server, open_page: Any) -> None:
    """The release task stored the evaluate task's report with each version: the panel draws it."""
    api = trained.api
    version = api.get("/api/v1/projects/default/models/talkingdata", params={"version": 2}).json()
    run = api.get(f"/api/v1/projects/default/runs/{version['run_id']}").json()
    evaluated = next(t for t in run["tasks"] if t["task"] == "evaluate")["outputs"]
    w = open_page(f"http://127.0.0.1:{trained.port}")
    page = w.page
    log_in(w, token_of(trained))
    open_row(page, "nav-models", "models-row")
    page.get_by_test_id("model-version-row-2").click()
    expect(page.get_by_test_id("model-version-panel")).to_have_attribute("data-version", "2")

    roc = page.get_by_test_id("roc-curve")
    expect(roc).to_contain_text(re.compile(r"AUC 0\.\d+"))
    points = int(roc.get_attribute("data-points") or 0)
    assert points > 2
    line = roc.locator("path.recharts-line-curve")
    expect(line).to_have_count(1)
    assert len(re.findall(r"[ML]", line.get_attribute("d") or "")) == points  # a line through every point
    expect(page.get_by_test_id("pr-curve").locator("path.recharts-line-curve")).to_have_count(1)

    matrix = page.get_by_test_id("confusion-matrix")
    counts = [int(page.get_by_test_id(f"confusion-{k}").locator(".confusion-count").inner_text().replace(",", ""))
              for k in ("tn", "fp", "fn", "tp")]
    assert sum(counts) == evaluated["rows"] and counts[2] + counts[3] == evaluated["positives"], counts
    expect(matrix).to_have_attribute("data-total", str(int(evaluated["rows"])))
    expect(page.get_by_test_id("confusion-tp-rate")).to_contain_text("%")

    importance = page.get_by_test_id("feature-importance")
    expect(importance).to_contain_text("gain")
    assert importance.locator(".recharts-bar-rectangle").count() == int(importance.get_attribute("data-count") or 0) > 3
    expect(page.get_by_test_id("evaluation-empty")).to_have_count(0)
    page.get_by_test_id("evaluation").scroll_into_view_if_needed()
    w.shot("model-evaluation")


def test_a_viewer_cannot_release(trained: Server, open_page: Any) -> None:
    token = viewer_token(trained, "val", "default")
    w = open_page(f"http://127.0.0.1:{trained.port}")
    log_in(w, token)
    open_row(w.page, "nav-models", "models-row")
    expect(w.page.get_by_test_id("model-version-row-2")).to_be_visible()
    expect(w.page.get_by_test_id("release-button")).to_have_count(0)
    expect(w.page.get_by_test_id("rollback-button-production")).to_have_count(0)


def test_a_feature_set_shows_its_sql_and_computes_a_request_row(trained: Server, open_page: Any) -> None:
    """The workflow deployed its feature SQL as the feature set `talkingdata` and loaded the
    online store: the page shows the SQL and computes one raw click's features."""
    w = open_page(f"http://127.0.0.1:{trained.port}")
    page = w.page
    log_in(w, token_of(trained))
    open_row(page, "nav-features", "featureset-row")
    expect(page.get_by_test_id("featureset-sql")).to_contain_text(re.compile("select", re.I))
    expect(page.get_by_test_id("featureset-version-row-1")).to_contain_text("online rows")  # the demo loaded it
    click = '{"ip": 5, "app": 1, "device": 1, "os": 1, "channel": 3, "click_time": "2017-11-08 23:59:59"}'
    page.get_by_test_id("compute-row-input").fill(click)
    page.get_by_test_id("compute-submit").click()
    expect(page.get_by_test_id("compute-result")).to_be_visible()
    computed = trained.api.post("/api/v1/projects/default/feature-sets/talkingdata/compute",
                                json={"rows": [json.loads(click)]})
    assert computed.status_code == 200, computed.text
    first = next(iter(computed.json()[0].items()))  # the page shows what the API computes
    expect(page.get_by_test_id("compute-result")).to_contain_text(first[0])
    w.shot("feature-set")
