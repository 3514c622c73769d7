"""The remote face without a server: API error answers become the ShoalErrors the services
raise (so the CLI prints and exits the same), answers decode into the services' dataclasses,
the token stays secret, and a server that does not answer is one clear error."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from shoal.engine.run_info import RunInfo, TaskRunInfo
from shoal.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ParamError,
    ShoalError,
    StoreUnavailable,
    Unauthorized,
)
from shoal.services.encoding import jsonable
from shoal.services.remote import Remote
from shoal.services.remote._client import Api
from shoal.services.remote.errors import error_from_answer
from shoal.spec.errors import Problem, SpecError

URL = "http://shoal.test:8000"


def answer(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


@pytest.mark.parametrize(("status", "code", "kind"), [
    (401, "unauthorized", Unauthorized), (403, "forbidden", Forbidden), (404, "not_found", NotFound),
    (409, "conflict", Conflict), (422, "invalid_input", InvalidInput), (503, "store_unavailable", StoreUnavailable),
    (413, "too_large", InvalidInput), (422, "param_error", ParamError),
])
def test_each_status_becomes_the_error_the_services_raise(status: int, code: str, kind: type[ShoalError]) -> None:
    exc = error_from_answer(status, answer(code, "what went wrong", field="x"), url=URL)
    assert type(exc) is kind and exc.details == {"field": "x"}
    assert str(exc).startswith("what went wrong")


def test_a_refused_token_says_which_variable_holds_it() -> None:
    exc = error_from_answer(401, answer("unauthorized", "unknown token: it was never issued here"), url=URL)
    assert isinstance(exc, Unauthorized) and "SHOAL_TOKEN" in str(exc) and "shoal token create" in str(exc)


def test_a_spec_error_keeps_its_problems_so_the_lines_are_the_same() -> None:
    local = SpecError([Problem("wf.yaml", 3, "a", "command", "missing required key 'command'"),
                       Problem("wf.yaml", None, None, None, "no such file")])
    body = json.loads(json.dumps(answer(local.code, str(local), **local.details)))
    remote = error_from_answer(422, body, url=URL)
    assert isinstance(remote, SpecError) and remote.problems == local.problems and str(remote) == str(local)


def test_a_finer_code_is_kept_and_an_answer_without_shoals_shape_is_said_plainly() -> None:
    refused = error_from_answer(409, answer("release_refused", "artifact damaged"), url=URL)
    assert isinstance(refused, Conflict) and refused.code == "release_refused"
    proxy = error_from_answer(502, None, url=URL)
    assert type(proxy) is ShoalError and "HTTP 502" in str(proxy) and "SHOAL_API_URL" in str(proxy)


def api_with(handler: Any, token: str | None = "shoal_secret") -> Api:
    return Api(URL, SecretStr(token) if token is not None else None, transport=httpx.MockTransport(handler))


def test_the_token_goes_in_the_header_only() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    api = api_with(handler)
    Remote(api).schedules.list_schedules(api)
    assert seen[0].headers["authorization"] == "Bearer shoal_secret"
    assert seen[0].url.path == "/api/v1/schedules"
    assert "shoal_secret" not in repr(api) and "shoal_secret" not in api.where


def test_no_token_is_refused_before_any_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request without a token")

    with pytest.raises(Unauthorized, match="SHOAL_TOKEN is not"):
        api_with(handler, token=None).get("/whoami")


def test_a_server_that_does_not_answer_is_one_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(StoreUnavailable) as caught:
        api_with(handler).get("/runs")
    text = str(caught.value)
    assert URL in text and "SHOAL_API_URL" in text and "unset SHOAL_API_URL" in text


def test_pages_are_followed_up_to_the_limit() -> None:
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        asked.append(params)
        start = int(params.get("cursor", "0"))
        items = [{"n": i} for i in range(start, min(start + int(params["limit"]), 5))]
        return httpx.Response(200, json={"items": items, "next_cursor": str(start + len(items)) if start + len(
            items) < 5 else None})

    api = api_with(handler)
    assert [i["n"] for i in api.pages("/x", limit=3)] == [0, 1, 2]
    assert [i["n"] for i in api.pages("/x")] == [0, 1, 2, 3, 4]
    assert asked[0] == {"limit": "3"}


def test_a_run_decodes_into_the_same_dataclass() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0)
    info = RunInfo(
        id=7, workflow="w", project="p", version=2, state="success", trigger="manual",
        logical_date=datetime(2026, 3, 1, 2, 0, tzinfo=timezone(timedelta(hours=8))), params={"x": "1"},
        disabled=[], created_at=now, started_at=now, ended_at=now, error=None,
        tasks=[TaskRunInfo(1, "a", "success", 1, 1, now, now, 0.5, {"rows": "42"}, None, None, 123)],
    )
    body = json.loads(json.dumps(info, default=jsonable))

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/projects/p/runs/7"
        return httpx.Response(200, json=body)

    api = api_with(handler)
    got = Remote(api).runs.show(api, 7, project="p")
    assert got == info and got.logical_date.utcoffset() == timedelta(hours=8)
    assert api.run_projects == {7: "p"}  # a later wait asks for it in its project


def test_a_new_token_and_a_model_version_decode_from_their_flat_json() -> None:
    from shoal.registry import ModelVersion, Release
    from shoal.services.models import ModelDetail
    from shoal.services.users import NewToken, TokenInfo

    now = datetime(2026, 3, 1, tzinfo=UTC).replace(tzinfo=None)
    token = NewToken(TokenInfo(2, "bob", "ci", "shoal_abcdef", now, None, None, None, "active"), "shoal_abcdefXYZ")
    version = ModelVersion("p", "m", 1, "xgboost", "/a", {}, None, None, {"auc": 0.9}, {}, {}, "", 3, None, now,
                           ("production",))
    detail = ModelDetail(version, [Release("m", "production", "release", None, 1, now)])
    bodies = {"/api/v1/tokens": token.to_json(), "/api/v1/projects/p/models/m": detail.to_json()}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=json.loads(json.dumps(bodies[request.url.path], default=jsonable)))

    api = api_with(handler)
    remote = Remote(api)
    assert remote.users.create_token(api, "bob", name="ci") == token
    assert remote.models.get_version(api, "m", project="p") == detail
    assert asdict(detail)  # still the local dataclass


def test_an_answer_of_another_shape_is_an_error_not_a_traceback() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "seven"})

    api = api_with(handler)
    with pytest.raises(ShoalError, match="same shoal version"):
        Remote(api).runs.show(api, 7)
