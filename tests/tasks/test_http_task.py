"""The `http` task type in real runs, against a real HTTP server on 127.0.0.1 started here."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from shoal.errors import InvalidInput
from tests.engine.conftest import RunYaml, outputs, states
from tests.tasks.conftest import HttpServer as _Server


def error_of(info: Any, task: str) -> str:
    return next(t.error for t in info.tasks if t.task == task) or ""


@pytest.mark.parametrize(("auc", "chosen", "skipped"), [("0.81", "deploy", "alert"), ("0.6", "alert", "deploy")])
def test_get_jsonpath_output_drives_a_switch(
    run_yaml: RunYaml, server: _Server, auc: str, chosen: str, skipped: str
) -> None:
    info = run_yaml(f"""
        name: http_switch
        params: {{auc: "0.81"}}
        tasks:
          - name: call
            type: http
            url: "{server.url}/metrics?auc=${{auc}}"
            outputs: {{auc: "$.data.auc", model: "$.data.model", tags: "$.tags[*]"}}
          - name: gate
            type: switch
            upstream: [call]
            cases:
              - {{when: "${{call.auc}} >= 0.75", then: deploy}}
            default: alert
          - {{name: deploy, type: shell, upstream: [gate], command: "echo deploying ${{call.model}}"}}
          - {{name: alert, type: shell, upstream: [gate], command: "echo auc too low"}}
        """, params={"auc": auc})
    assert info.state == "success", info
    assert outputs(info, "call") == {"status_code": 200, "auc": float(auc), "model": "m1", "tags": ["a", "b"]}
    assert states(info)[chosen] == "success" and states(info)[skipped] == "skipped"
    assert outputs(info, "gate")["branch"] == chosen
    assert [(r["method"], r["path"]) for r in server.requests] == [("GET", "/metrics")]


def test_post_sends_a_rendered_json_body(run_yaml: RunYaml, server: _Server) -> None:
    info = run_yaml(f"""
        name: http_post
        tasks:
          - {{name: prep, type: shell, command: "echo '##shoal:set version=7'"}}
          - name: publish
            type: http
            upstream: [prep]
            method: POST
            url: "{server.url}/echo"
            headers: {{X-Token: "secret-${{ds_nodash}}"}}
            body: {{model: m1, version: "${{prep.version}}", day: "${{ds}}", tags: [a, b]}}
            expected_status: [201]
            outputs: {{model: "$.echo.model", version: "$.echo.version", day: "$.echo.day"}}
        """, date="2026-03-01")
    assert info.state == "success", info
    assert outputs(info, "publish") == {"status_code": 201, "model": "m1", "version": "7", "day": "2026-03-01"}
    (req,) = server.requests
    assert req["method"] == "POST" and req["content_type"] == "application/json"
    assert json.loads(req["body"]) == {"model": "m1", "version": "7", "day": "2026-03-01", "tags": ["a", "b"]}
    assert req["x_token"] == "secret-20260301"


@pytest.mark.parametrize(
    ("status", "expected", "named"),
    [(503, None, "expected one of 200-299"), (200, "[201, 204]", "expected one of 201, 204")],
)
def test_unexpected_status_fails_naming_status_and_expected_codes(
    run_yaml: RunYaml, server: _Server, status: int, expected: str | None, named: str
) -> None:
    expected_line = f"expected_status: {expected}" if expected else ""
    info = run_yaml(f"""
        name: http_status
        tasks:
          - name: call
            type: http
            url: "{server.url}/status/{status}"
            {expected_line}
          - {{name: after, type: shell, upstream: [call], command: "true"}}
        """)
    assert info.state == "failed"
    assert states(info) == {"call": "failed", "after": "upstream_failed"}
    error = error_of(info, "call")
    assert f"returned {status}" in error and named in error
    assert "as requested" in error  # the start of the body helps to debug


def test_jsonpath_matching_nothing_fails_naming_the_path(run_yaml: RunYaml, server: _Server) -> None:
    info = run_yaml(f"""
        name: http_nopath
        tasks:
          - name: call
            type: http
            url: "{server.url}/metrics"
            outputs: {{auc: "$.data.auc", recall: "$.data.recall"}}
        """)
    assert info.state == "failed"
    error = error_of(info, "call")
    assert "'recall'" in error and "$.data.recall" in error and "matched nothing" in error


def test_connection_refused_fails_the_task(run_yaml: RunYaml) -> None:
    # A port that was just free: nothing listens on it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    info = run_yaml(f"""
        name: http_refused
        tasks:
          - {{name: call, type: http, url: "http://127.0.0.1:{port}/x", request_timeout: 5}}
        """)
    assert info.state == "failed"
    error = error_of(info, "call")
    assert f"GET http://127.0.0.1:{port}/x failed" in error
    assert "refused" in error.lower()


def test_invalid_jsonpath_is_rejected_when_the_workflow_is_applied(apply_yaml, server: _Server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=r"\$\.data\["):
        apply_yaml(f"""
            name: http_badpath
            tasks:
              - {{name: call, type: http, method: POST, url: "{server.url}/echo", outputs: {{auc: "$.data["}}}}
            """)
    assert server.requests == []


def test_error_body_with_nul_bytes_fails_the_task_not_the_engine(
    run_yaml: RunYaml, server: _Server, backend: str, request: pytest.FixtureRequest
) -> None:
    info = run_yaml(f"""
        name: http_binary
        tasks:
          - {{name: call, type: http, url: "{server.url}/binary"}}
        """)
    assert info.state == "failed"
    assert "returned 500" in error_of(info, "call")


def test_redirects_are_followed_by_default(run_yaml: RunYaml, server: _Server) -> None:
    info = run_yaml(f"""
        name: http_redirect
        tasks:
          - name: call
            type: http
            url: "{server.url}/redirect?to=/metrics%3Fauc%3D0.9"
            outputs: {{auc: "$.data.auc"}}
        """)
    assert info.state == "success", error_of(info, "call")
    assert outputs(info, "call") == {"status_code": 200, "auc": 0.9}
    assert [(r["method"], r["path"]) for r in server.requests] == [("GET", "/redirect"), ("GET", "/metrics")]


def test_follow_redirects_false_gives_the_redirect_itself(run_yaml: RunYaml, server: _Server) -> None:
    info = run_yaml(f"""
        name: http_no_redirect
        tasks:
          - {{name: strict, type: http, url: "{server.url}/redirect?to=/metrics", follow_redirects: false}}
          - name: expected
            type: http
            url: "{server.url}/redirect?to=/metrics"
            follow_redirects: false
            expected_status: [302]
        """)
    assert states(info) == {"strict": "failed", "expected": "success"}
    assert "returned 302" in error_of(info, "strict")
    assert outputs(info, "expected") == {"status_code": 302}
    assert [r["path"] for r in server.requests] == ["/redirect", "/redirect"]


def test_request_timeout_is_a_duration(run_yaml: RunYaml, apply_yaml, server: _Server) -> None:  # type: ignore[no-untyped-def]
    info = run_yaml(f"""
        name: http_timeout
        tasks:
          - {{name: ok, type: http, url: "{server.url}/metrics", request_timeout: 2s}}
          - {{name: slow, type: http, url: "{server.url}/slow?s=3", request_timeout: 300ms}}
        """)
    assert states(info) == {"ok": "success", "slow": "failed"}
    assert "timed out" in error_of(info, "slow")
    for bad, message in [("5 minutes", "invalid duration"), ("0s", "greater than 0")]:
        with pytest.raises(InvalidInput, match=message):
            apply_yaml(f"""
                name: http_bad_timeout
                tasks:
                  - {{name: call, type: http, url: "{server.url}/metrics", request_timeout: "{bad}"}}
                """)


def test_bracket_jsonpath_written_with_the_dollar_escape_applies_and_runs(run_yaml: RunYaml, server: _Server) -> None:
    # `$$[` is how a literal `$[` is written in a templated field; the path is checked unescaped.
    info = run_yaml(f"""
        name: http_bracket_path
        tasks:
          - name: call
            type: http
            url: "{server.url}/metrics?auc=0.77"
            outputs: {{auc: "$$['data']['auc']", first_tag: "$$['tags'][0]", model: "$.data.model"}}
          - {{name: after, type: shell, upstream: [call], command: "echo auc=${{call.auc}}"}}
        """)
    assert info.state == "success", error_of(info, "call")
    assert outputs(info, "call") == {"status_code": 200, "auc": 0.77, "first_tag": "a", "model": "m1"}


def test_an_invalid_escaped_jsonpath_is_still_rejected_at_apply(apply_yaml, server: _Server) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match=r"invalid JSONPath") as info:
        apply_yaml(f"""
            name: http_bad_bracket
            tasks:
              - {{name: call, type: http, method: POST, url: "{server.url}/echo", outputs: {{auc: "$$['data'"}}}}
            """)
    assert "Parse error" in str(info.value) or "JSONPath" in str(info.value)
    assert server.requests == []


def test_unescaped_bracket_jsonpath_error_says_how_to_escape_it(apply_yaml) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput) as info:
        apply_yaml("""
            name: http_unescaped
            tasks:
              - {name: call, type: http, url: "http://127.0.0.1:1/x", outputs: {auc: "$['data']['auc']"}}
            """)
    message = str(info.value)
    assert "field 'outputs.auc'" in message and "$$['data']" in message


@pytest.mark.parametrize("codes", ["[999999]", "[200, 42]", "[-1]"])
def test_expected_status_must_be_http_status_codes(apply_yaml, codes: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidInput, match="between 100 and 599"):
        apply_yaml(f"""
            name: bad_status
            tasks:
              - {{name: t, type: http, url: "http://127.0.0.1:9/", expected_status: {codes}}}
            """)
