"""The workflow editor in a real browser against a real `shoal server`: an analyst builds a
workflow by drag and drop (shell → switch → two branches), fills the forms (the shell command in
the code editor), sees a validation error on the field and on the node, fixes it, saves version 1;
sets a schedule at the prompt after saving (version 2); edits the YAML view and sees the canvas
follow, saves version 3; undoes and redoes; jumps to a task by name. A viewer finds no way into the editor."""

from __future__ import annotations

import re
from typing import Any

import yaml
from playwright.sync_api import expect

from tests.api.conftest import Server
from tests.ui.conftest import log_in, token_of, viewer_token


def _drop(page: Any, task_type: str, x: int, y: int) -> None:
    """Drag a palette item onto the canvas (HTML5 drag and drop) at (x, y) of the canvas."""
    page.get_by_test_id(f"palette-item-{task_type}").drag_to(
        page.get_by_test_id("editor-canvas"), target_position={"x": x, "y": y})


def _connect(page: Any, source: str, target: str) -> None:
    """Drag from `source`'s right handle to `target`'s left handle, as a person does."""
    a = page.get_by_test_id(f"handle-out-{source}").bounding_box()
    b = page.get_by_test_id(f"handle-in-{target}").bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def _select(page: Any, task: str) -> None:
    page.get_by_test_id(f"task-node-{task}").click()
    expect(page.get_by_test_id("task-form")).to_have_attribute("data-task", task)


def _rename(page: Any, node: str, name: str) -> None:
    _select(page, node)
    page.get_by_test_id("field-name").fill(name)
    expect(page.get_by_test_id(f"task-node-{name}")).to_be_visible()


def _code(page: Any, field: str, text: str) -> None:
    page.locator(f'[data-testid="{field}"] .cm-content').fill(text)


def test_an_analyst_builds_validates_saves_and_edits_a_workflow(server: Server, open_page: Any) -> None:
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, token_of(server))

    page.get_by_test_id("nav-workflows").click()
    page.get_by_test_id("new-workflow").click()
    expect(page).to_have_url(re.compile(r"/workflows/new$"))
    expect(page.get_by_test_id("canvas-empty")).to_be_visible()
    page.get_by_test_id("palette-search").fill("branch")  # finds switch and condition by description
    expect(page.get_by_test_id("palette-item-switch")).to_be_visible()
    expect(page.get_by_test_id("palette-item-shell")).to_be_hidden()
    page.get_by_test_id("palette-search").fill("")

    page.get_by_test_id("workflow-name").fill("editor_demo")
    page.get_by_test_id("workflow-description").fill("built in the editor")
    page.get_by_test_id("workflow-params-add").click()
    page.get_by_test_id("workflow-params-key-0").fill("min_auc")
    page.get_by_test_id("workflow-params-value-0").fill("0.75")

    _drop(page, "shell", 130, 180)
    _rename(page, "shell", "extract")
    _drop(page, "switch", 380, 180)
    _rename(page, "switch", "route")
    _drop(page, "shell", 640, 100)
    _rename(page, "shell", "deploy")
    _drop(page, "shell", 640, 280)
    _rename(page, "shell", "alert")
    _connect(page, "extract", "route")
    _connect(page, "route", "deploy")
    _connect(page, "route", "alert")
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    # A cycle is refused, with a message.
    _connect(page, "alert", "extract")
    expect(page.get_by_test_id("editor-notice")).to_contain_text("cycle")
    expect(page.locator(".react-flow__edge")).to_have_count(3)

    # The shell command in the code editor; a bad field shows on the field and on the node.
    _select(page, "extract")
    expect(page.get_by_test_id("node-error-extract")).to_be_visible()  # command is required
    _code(page, "field-command", "echo '##shoal:set auc=0.81'")
    expect(page.get_by_test_id("node-error-extract")).to_be_hidden()
    page.get_by_test_id("advanced").locator("summary").click()
    page.get_by_test_id("field-retries").fill("-1")
    expect(page.get_by_test_id("field-error-retries")).to_have_text("must be at least 0")
    expect(page.get_by_test_id("node-error-extract")).to_be_visible()
    page.get_by_test_id("field-error-retries").scroll_into_view_if_needed()
    w.shot("editor-validation")
    page.get_by_test_id("save").click()  # refused while problems remain, saying which
    expect(page.get_by_test_id("save-error")).to_contain_text("task extract, field retries: must be at least 0")
    page.get_by_test_id("field-retries").fill("2")
    expect(page.get_by_test_id("field-error-retries")).to_be_hidden()
    expect(page.get_by_test_id("node-error-extract")).to_be_hidden()

    _select(page, "route")
    page.get_by_test_id("field-cases-add").click()
    page.get_by_test_id("field-cases.0.when").fill("${extract.auc} >= ${min_auc}")
    page.get_by_test_id("field-cases.0.then").fill("deploy")
    page.get_by_test_id("field-default").fill("alert")
    expect(page.get_by_test_id("node-error-route")).to_be_hidden()
    for task, command in (("deploy", "echo deploy"), ("alert", "echo 'auc too low'")):
        _select(page, task)
        _code(page, "field-command", command)
    expect(page.get_by_test_id("problem-count")).to_have_text("no problems")
    page.get_by_test_id("layout").click()
    _select(page, "extract")
    w.shot("editor")

    # What only the server checks (a condition's bare word) comes back on the task and field.
    _select(page, "route")
    page.get_by_test_id("field-cases.0.when").fill("${extract.auc} >= high")
    w.allowed.add(422)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("save-error")).to_contain_text("unknown name `high`")
    expect(page.get_by_test_id("field-error-cases.0.when")).to_contain_text("quote strings")
    expect(page.get_by_test_id("node-error-route")).to_be_visible()
    w.allowed.clear()
    page.get_by_test_id("field-cases.0.when").fill("${extract.auc} >= ${min_auc}")
    expect(page.get_by_test_id("save-error")).to_be_hidden()
    expect(page.get_by_test_id("node-error-route")).to_be_hidden()

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-version")).to_have_text("Saved version 1")
    expect(page).to_have_url(re.compile(r"/workflows/default/editor_demo/edit$"))
    stored = server.api.get("/api/v1/projects/default/workflows/editor_demo").json()["definition"]
    assert stored["params"] == {"min_auc": "0.75"} and stored["description"] == "built in the editor"
    tasks = {t["name"]: t for t in stored["tasks"]}
    assert tasks["extract"] == {"name": "extract", "type": "shell", "retries": 2,
                                "command": "echo '##shoal:set auc=0.81'"}
    assert tasks["route"]["upstream"] == ["extract"] and tasks["route"]["default"] == "alert"
    assert tasks["route"]["cases"] == [{"when": "${extract.auc} >= ${min_auc}", "then": "deploy"}]
    assert tasks["deploy"]["upstream"] == ["route"] and tasks["alert"]["upstream"] == ["route"]

    # The save asks whether to schedule it: a daily run at 06:15, set in the dialog, is version 2.
    page.get_by_test_id("saved-schedule").click()
    page.get_by_test_id("cron-preset").select_option("daily")
    page.get_by_test_id("cron-time").fill("06:15")
    expect(page.get_by_test_id("cron-expression")).to_have_value("15 6 * * *")
    expect(page.get_by_test_id("fire-times")).to_contain_text("06:15")
    page.get_by_test_id("schedule-save").click()
    expect(page.get_by_test_id("schedule-dialog")).to_be_hidden()
    expect(page.get_by_test_id("saved-version")).to_have_text("Saved version 2")
    expect(page.get_by_test_id("unsaved")).to_be_hidden()  # the editor holds the schedule now

    # The YAML view edits the same workflow: a bad text says where, and leaves the canvas alone.
    page.get_by_test_id("yaml-toggle").click()
    yaml_view = page.get_by_test_id("yaml-view")
    expect(yaml_view).to_contain_text("name: editor_demo")
    content = yaml_view.locator(".cm-content")
    content.click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("  - {name: notify, type: shell")
    expect(page.get_by_test_id("yaml-error")).to_contain_text("line")
    expect(page.get_by_test_id("task-node-deploy")).to_be_visible()
    page.keyboard.insert_text(", upstream: [deploy], command: echo notified}\n")
    expect(page.get_by_test_id("task-node-notify")).to_be_visible()
    expect(page.get_by_test_id("yaml-error")).to_be_hidden()
    expect(page.locator(".react-flow__edge")).to_have_count(4)
    w.shot("editor-yaml")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("saved-version")).to_have_text("Saved version 3")
    exported = yaml.safe_load(server.api.get(
        "/api/v1/projects/default/workflows/editor_demo/export", params={"format": "yaml"}).text)
    assert exported["schedule"]["cron"] == "15 6 * * *"  # the editor's save kept the schedule
    assert exported["tasks"][-1] == {"name": "notify", "type": "shell", "upstream": ["deploy"],
                                     "command": "echo notified"}

    # Undo takes the YAML edit back (one step), redo brings it again.
    page.get_by_test_id("yaml-toggle").click()
    page.get_by_test_id("undo").click()
    expect(page.get_by_test_id("task-node-notify")).to_have_count(0)
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    page.get_by_test_id("redo").click()
    expect(page.get_by_test_id("task-node-notify")).to_be_visible()
    expect(page.get_by_test_id("unsaved")).to_be_hidden()

    # Node search: a few letters, Enter: the task is selected and in view.
    page.get_by_test_id("node-search").fill("aler")
    expect(page.get_by_test_id("node-search-option-alert")).to_be_visible()
    page.get_by_test_id("node-search").press("Enter")
    expect(page.get_by_test_id("task-form")).to_have_attribute("data-task", "alert")
    expect(page.get_by_test_id("task-node-alert")).to_be_in_viewport()

    # Copy and paste with the keyboard: a new, uniquely named task.
    _select(page, "alert")
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("task-node-alert_2")).to_be_visible()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("task-node-alert_2")).to_have_count(0)

    # From the workflow's page, Edit opens its current version.
    page.get_by_test_id("saved-open").click()
    expect(page.get_by_test_id("workflow-version")).to_have_text("v3")
    page.get_by_test_id("edit-workflow").click()
    expect(page.get_by_test_id("task-node-notify")).to_be_visible()
    expect(page.get_by_test_id("workflow-name")).to_have_value("editor_demo")


def test_leaving_with_unsaved_changes_asks_first(server: Server, open_page: Any) -> None:
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, token_of(server))
    page.goto("/workflows/new")
    page.get_by_test_id("palette-item-shell").focus()
    page.keyboard.press("Enter")  # the keyboard adds a task too
    expect(page.get_by_test_id("task-node-shell")).to_be_visible()
    page.get_by_test_id("nav-runs").click()
    expect(page.get_by_test_id("leave-dialog")).to_be_visible()
    page.get_by_test_id("leave-cancel").click()
    expect(page).to_have_url(re.compile(r"/workflows/new$"))
    page.get_by_test_id("nav-runs").click()
    page.get_by_test_id("leave-confirm").click()
    expect(page).to_have_url(re.compile(r"/runs$"))


def test_a_viewer_finds_no_way_into_the_editor(server: Server, open_page: Any) -> None:
    assert server.api.post("/api/v1/workflows", json={
        "content": "name: viewed\ntasks:\n  - {name: a, type: shell, command: echo a}\n"}).status_code == 201
    w = open_page(f"http://127.0.0.1:{server.port}")
    page = w.page
    log_in(w, viewer_token(server, "vera", "default"))
    page.get_by_test_id("nav-workflows").click()
    expect(page.get_by_test_id("workflow-row-viewed")).to_be_visible()
    expect(page.get_by_test_id("new-workflow")).to_have_count(0)
    page.get_by_role("link", name="viewed").click()
    expect(page.get_by_test_id("workflow-version")).to_be_visible()
    expect(page.get_by_test_id("edit-workflow")).to_have_count(0)
    page.goto("/workflows/default/viewed/edit")
    expect(page.get_by_test_id("editor-forbidden")).to_be_visible()
