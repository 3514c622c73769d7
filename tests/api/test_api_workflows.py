"""Workflows over the API: pages, versions and their diff, validate without saving, export,
delete; secrets read *** everywhere; a body over the cap is refused."""

from __future__ import annotations

from typing import Any

from shoal.api.app import MAX_BODY
from tests.api.conftest import WF, Call, apply, error_of

BASE = "/api/v1/projects/fraud/workflows"
SECRET_WF = ("name: s\nproject: fraud\nsecrets: [token]\nparams: {{token: {token}, x: '{x}'}}\n"
             "tasks: [{{name: a, type: shell, command: 'echo ${{x}}'}}]\n")


def pages(call: Call, path: str, **params: Any) -> list[list[Any]]:
    """Every page of a list, following next_cursor."""
    got: list[list[Any]] = []
    cursor = None
    while True:
        body = call("GET", path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        got.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return got


def test_a_list_of_workflows_a_page_at_a_time(api: dict[str, Call]) -> None:
    for name in ("e", "a", "d", "b", "c"):
        assert apply(api["alice"], name, "fraud").status_code == 201
    apply(api["root"], "z", "default")
    got = pages(api["bob"], "/api/v1/workflows", limit=2)
    assert [[w["name"] for w in page] for page in got] == [["a", "b"], ["c", "d"], ["e"]]  # only fraud's
    everything = [(w["project"], w["name"]) for page in pages(api["root"], "/api/v1/workflows", limit=4) for w in page]
    assert everything == [("default", "z")] + [("fraud", n) for n in "abcde"]
    assert [w["name"] for w in api["bob"]("GET", "/api/v1/workflows", params={"search": "C"}).json()["items"]] == [
        "a", "b", "c", "d", "e"]  # c, and the owner alice of every one
    assert [w["name"] for w in api["bob"]("GET", "/api/v1/workflows", params={"search": "D"}).json()["items"]] == ["d"]
    bad = error_of(api["bob"]("GET", "/api/v1/workflows", params={"cursor": "bm9wZQ"}), 422)
    assert bad["details"]["field"] == "cursor" and "next_cursor" in bad["message"]
    error_of(api["bob"]("GET", "/api/v1/workflows", params={"limit": 1001}), 422)


def names(call: Call, **params: Any) -> list[str]:
    answer = call("GET", "/api/v1/workflows", params=params)
    assert answer.status_code == 200, answer.text
    return [w["name"] for w in answer.json()["items"]]


def test_workflows_have_an_owner_and_filter_by_schedule_and_last_run(api: dict[str, Call]) -> None:
    alice, root = api["alice"], api["root"]
    for name in ("never", "ran"):
        apply(alice, name, "fraud")
    for name in ("daily", "held"):
        text = WF.format(name=name, project="fraud") + "schedule: {cron: '0 2 * * *'}\n"
        assert alice("POST", "/api/v1/workflows", json={"content": text}).status_code == 201
    apply(root, "ran", "fraud")  # unchanged: the owner stays who created it
    assert alice("POST", f"{BASE}/held/schedule/pause").status_code == 200
    assert alice("POST", "/api/v1/runs", json={"project": "fraud", "workflow": "ran"}).status_code == 201
    listed = {w["name"]: w for w in api["bob"]("GET", "/api/v1/workflows").json()["items"]}
    assert {w["owner"] for w in listed.values()} == {"alice"}
    assert names(api["bob"], search="ALICE") == ["daily", "held", "never", "ran"]
    assert names(api["bob"], schedule="active") == ["daily"]
    assert names(api["bob"], schedule="paused") == ["held"]
    assert names(api["bob"], schedule="none") == ["never", "ran"]
    assert names(api["bob"], last_state="queued") == ["ran"]
    assert names(api["bob"], last_state="none", schedule="none") == ["never"]
    assert names(api["bob"], last_state="failed") == []
    bad = error_of(api["bob"]("GET", "/api/v1/workflows", params={"last_state": "done"}), 422)
    assert bad["details"]["field"] == "last_state" and "success" in bad["message"]
    error_of(api["bob"]("GET", "/api/v1/workflows", params={"schedule": "sometimes"}), 422)
    root("POST", "/api/v1/workflows", json={"content": WF.format(name="ran", project="fraud").replace("'1'", "'2'")})
    versions = api["bob"]("GET", f"{BASE}/ran/versions").json()
    assert [(v["version"], v["created_by"]) for v in versions] == [(2, "root"), (1, "alice")]


def test_versions_and_the_diff_between_two(api: dict[str, Call]) -> None:
    call = api["alice"]
    call("POST", "/api/v1/workflows", json={"content": SECRET_WF.format(token="hunter2", x="1")})
    call("POST", "/api/v1/workflows", json={"content": SECRET_WF.format(token="s3cret!", x="2")})
    versions = api["bob"]("GET", f"{BASE}/s/versions").json()
    assert [(v["version"], v["current"]) for v in versions] == [(2, True), (1, False)]
    diff = api["bob"]("GET", f"{BASE}/s/diff", params={"old": 1}).json()
    assert (diff["old"], diff["new"]) == (1, 2)
    assert "-  x: '1'" in diff["diff"] and "+  x: '2'" in diff["diff"], diff["diff"]
    assert "hunter2" not in diff["diff"] and "s3cret" not in diff["diff"]  # both read ***
    assert api["bob"]("GET", f"{BASE}/s/diff", params={"old": 2, "new": 2}).json()["diff"] == ""
    assert "no version 9" in error_of(api["bob"]("GET", f"{BASE}/s/diff", params={"old": 9}), 404)["message"]
    shown = api["bob"]("GET", f"{BASE}/s", params={"version": 1}).json()
    assert shown["version"] == 1 and shown["definition"]["params"]["token"] == "***"
    error_of(api["carol"]("GET", f"{BASE}/s/versions"), 403)
    error_of(api["carol"]("GET", f"{BASE}/s/diff", params={"old": 1}), 403)


def test_validate_stores_nothing_and_names_the_task_and_field(api: dict[str, Call]) -> None:
    ok = api["bob"]("POST", "/api/v1/workflows/validate", json={"content": WF.format(name="v", project="fraud")})
    assert ok.status_code == 200 and ok.json() == {"valid": True, "workflows": ["v"]}
    bad = ("name: v\nproject: fraud\ntasks:\n  - {name: a, type: shell, command: 'true', retries: -1}\n"
           "  - {name: b, type: shell, command: 'true', timeout: soon}\n")
    err = error_of(api["bob"]("POST", "/api/v1/workflows/validate", json={"content": bad}), 422)
    assert err["code"] == "spec_error"
    where = {(p["task"], p["field"]) for p in err["details"]["problems"]}
    assert ("a", "retries") in where and ("b", "timeout") in where, where
    assert all(p["line"] for p in err["details"]["problems"])
    assert api["root"]("GET", "/api/v1/workflows").json()["items"] == []  # nothing stored
    error_of(api["bob"]("POST", "/api/v1/workflows/validate", json={"content": "x", "format": "python"}), 422)
    error_of(api["anon"]("POST", "/api/v1/workflows/validate", json={"content": "x"}), 401)


def test_export_applies_back_unchanged_and_secrets_stay_masked(api: dict[str, Call]) -> None:
    call = api["alice"]
    call("POST", "/api/v1/workflows", json={"content": SECRET_WF.format(token="hunter2", x="1")})
    yaml_text = api["bob"]("GET", f"{BASE}/s/export").text
    assert "hunter2" not in yaml_text and "***" in yaml_text
    again = call("POST", "/api/v1/workflows", json={"content": yaml_text})
    assert again.json()[0]["changed"] is False  # *** keeps the stored secret
    as_json = api["bob"]("GET", f"{BASE}/s/export", params={"format": "json"}).text
    assert call("POST", "/api/v1/workflows", json={"content": as_json, "format": "json"}).json()[0]["changed"] is False
    assert "from shoal.spec.sdk import workflow" in api["bob"]("GET", f"{BASE}/s/export", params={"format": "py"}).text
    error_of(api["bob"]("GET", f"{BASE}/s/export", params={"format": "xml"}), 422)


def test_delete_a_workflow(api: dict[str, Call]) -> None:
    apply(api["alice"], "w", "fraud")
    run_id = api["alice"]("POST", "/api/v1/runs", json={"workflow": "w", "project": "fraud"}).json()["id"]
    error_of(api["bob"]("DELETE", f"{BASE}/w"), 403)
    assert "active run" in error_of(api["alice"]("DELETE", f"{BASE}/w"), 409)["message"]
    api["alice"]("POST", f"/api/v1/projects/fraud/runs/{run_id}/stop")
    gone = api["alice"]("DELETE", f"{BASE}/w")
    assert gone.status_code == 204 and gone.content == b""
    error_of(api["bob"]("GET", f"{BASE}/w"), 404)
    error_of(api["bob"]("GET", f"/api/v1/projects/fraud/runs/{run_id}"), 404)  # its runs went with it
    error_of(api["alice"]("DELETE", f"{BASE}/w"), 404)


def test_a_body_over_the_cap_is_refused_and_stores_nothing(api: dict[str, Call]) -> None:
    big = b'{"content": "' + b"x" * (MAX_BODY + 1) + b'"}'
    err = error_of(api["alice"]("POST", "/api/v1/workflows", content=big,
                                headers={"content-type": "application/json"}), 413)
    assert err["code"] == "too_large"
    assert api["root"]("GET", "/api/v1/workflows").json()["items"] == []


def test_a_body_sent_without_its_length_is_cut_off_at_the_cap(api: dict[str, Call]) -> None:
    def chunks() -> Any:
        yield b'{"content": "'
        for _ in range(MAX_BODY // (1 << 20) + 1):
            yield b"x" * (1 << 20)
        yield b'"}'

    err = error_of(api["alice"]("POST", "/api/v1/workflows", content=chunks(),
                                headers={"content-type": "application/json"}), 413)
    assert err["code"] == "too_large" and "bytes" in err["message"]


def test_several_files_apply_all_or_none_as_a_directory(api: dict[str, Call]) -> None:
    """`files` is a directory's apply (the CLI against a server sends one): every file is checked
    before any is stored, a name defined twice is refused, and all are stored together."""
    good = [{"name": f"dir/{n}.yaml", "content": WF.format(name=n, project="fraud")} for n in ("a", "b")]
    bad = {"name": "dir/c.yaml", "content": "name: c\nproject: fraud\ntasks:\n  - {name: x, type: shel}\n"}
    err = error_of(api["alice"]("POST", "/api/v1/workflows", json={"files": [*good, bad]}), 422)
    assert err["code"] == "spec_error" and [p["file"] for p in err["details"]["problems"]] == ["dir/c.yaml"]
    assert api["alice"]("GET", "/api/v1/workflows", params={"project": "fraud"}).json()["items"] == []
    again = {**good[0], "name": "dir/d.yaml"}
    twice = error_of(api["alice"]("POST", "/api/v1/workflows", json={"files": [*good, again]}), 422)
    assert "defined twice" in twice["message"] and "dir/a.yaml" in twice["message"]
    stored = api["alice"]("POST", "/api/v1/workflows", json={"files": good})
    assert stored.status_code == 201 and [r["name"] for r in stored.json()] == ["a", "b"]
    both = error_of(api["alice"]("POST", "/api/v1/workflows", json={"files": good, "content": "x"}), 422)
    assert "either content" in both["message"]
    error_of(api["alice"]("POST", "/api/v1/workflows", json={}), 422)
    error_of(api["bob"]("POST", "/api/v1/workflows", json={"files": good}), 403)  # a viewer
