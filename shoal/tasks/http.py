"""`http`: call an HTTP endpoint; check the status; pick outputs from the JSON body by JSONPath.

`${...}` references in `url`, `headers` and `body` are encoded for where they stand (see
`shoal.tasks.values.http`): percent-encoded in a URL's path and query, JSON-encoded in a JSON
body; `splice_values: true` pastes them as text instead (dangerous).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from shoal.errors import TaskFailed
from shoal.spec.models import PositiveDuration
from shoal.tasks.base import Isolation, TaskContext, TaskParams, TaskType, isolation_field
from shoal.tasks.values.http import body_with, headers_with, url_with


class HttpParams(TaskParams):
    url: str = Field(
        description="the address to call, e.g. https://api.example.com/v1/report?day=${ds}; ${...} values are "
        "URL-encoded where they stand",
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        default="GET", description="the HTTP method",
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="request headers, name -> value, e.g. {Authorization: 'Bearer ${token}'}",
    )
    body: str | dict[str, Any] | list[Any] | None = Field(
        default=None,
        description="the request body: an object or a list is sent as JSON, text as it is; empty: no body",
    )
    expected_status: list[int] = Field(
        default_factory=lambda: list(range(200, 300)),
        description="the HTTP status codes that count as success, e.g. [200, 201]; any other fails the task "
        "(default: every 2xx code, 200-299)",
    )
    request_timeout: PositiveDuration = Field(
        default=30.0,
        description="how long to wait for the answer: seconds, or with a unit, e.g. 30s or 500ms",
    )
    follow_redirects: bool = Field(
        default=True, description="follow 3xx redirects; off: a 3xx answer is the response that is checked",
    )
    outputs: dict[str, str] = Field(
        default_factory=dict,
        description="outputs picked from the JSON response: output name -> JSONPath, e.g. {auc: $.data.auc}",
    )
    isolation: Isolation = isolation_field()

    @field_validator("expected_status")
    @classmethod
    def _some_status(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("expected_status must list at least one HTTP status code")
        wrong = [code for code in v if not 100 <= code <= 599]
        if wrong:
            raise ValueError(
                f"expected_status {', '.join(map(str, wrong))}: an HTTP status code is between 100 and 599"
            )
        return v

    @field_validator("outputs")
    @classmethod
    def _valid_paths(cls, v: dict[str, str]) -> dict[str, str]:
        # Checked before the request is sent: a POST must not happen for a typo in a path.
        # At apply time the path is checked as written, before rendering: `$$['data']` (the escape
        # for a literal `$[`) is checked as the `$['data']` it renders to; the run checks it rendered.
        from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
        from jsonpath_ng.ext import parse as jsonpath

        from shoal.spec.templating import find_references, unescape

        for name, path in v.items():
            if "${" in path or find_references(path):
                continue  # rendered at run time; checked then
            try:
                jsonpath(unescape(path))
            except (JsonPathParserError, JsonPathLexerError, Exception) as exc:
                raise ValueError(f"output {name!r}: invalid JSONPath {path!r}: {exc}") from None
        return v


class HttpTask(TaskType):
    name = "http"
    Params = HttpParams
    kind = "process"
    group = "general"
    description = ("Call an HTTP endpoint and check its status; values picked from the JSON response by "
                   "JSONPath become outputs.")
    code_fields = frozenset({"url", "headers", "body"})

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        import httpx
        from jsonpath_ng.ext import parse as jsonpath

        p: HttpParams = ctx.params
        url, headers, body = p.url, p.headers, p.body
        if ctx.values is not None:  # references as written: encode each value where it stands
            url = url_with(p.url, ctx.values)
            headers = headers_with(p.headers, ctx.values)
            body = body_with(p.body, ctx.values, headers)
        kwargs: dict[str, Any] = {"headers": headers}
        if isinstance(body, (dict, list)):
            kwargs["json"] = body
        elif body is not None:
            kwargs["content"] = body
        try:
            response = httpx.request(
                p.method, url, timeout=p.request_timeout, follow_redirects=p.follow_redirects, **kwargs
            )
        except httpx.HTTPError as exc:  # TooManyRedirects too (more than 20)
            raise TaskFailed(f"{p.method} {url} failed: {exc}") from None
        for hop in response.history:
            print(f"{hop.request.method} {hop.request.url} -> {hop.status_code} {hop.headers.get('location', '')}")
        print(f"{response.request.method} {response.request.url} -> {response.status_code}")
        if response.status_code not in p.expected_status:
            redirected = f" (redirected to {response.url})" if response.history else ""
            raise TaskFailed(
                f"{p.method} {url}{redirected} returned {response.status_code}, expected one of "
                f"{_ranges(p.expected_status)}: {response.text[:500]}"
            )
        outputs: dict[str, Any] = {"status_code": response.status_code}
        if p.outputs:
            try:
                body = response.json()
            except ValueError:
                raise TaskFailed(f"outputs need a JSON response, got: {response.text[:200]!r}") from None
            for name, path in p.outputs.items():
                try:
                    found = jsonpath(path).find(body)
                except Exception as exc:  # a rendered path that does not parse
                    raise TaskFailed(f"output {name!r}: invalid JSONPath {path!r}: {exc}") from None
                matches = [m.value for m in found]
                if not matches:
                    raise TaskFailed(f"output {name!r}: JSONPath {path!r} matched nothing in the response")
                outputs[name] = matches[0] if len(matches) == 1 else matches
        return outputs


def _ranges(codes: list[int]) -> str:
    codes = sorted(codes)
    if codes and codes == list(range(codes[0], codes[-1] + 1)) and len(codes) > 2:
        return f"{codes[0]}-{codes[-1]}"
    return ", ".join(map(str, codes))
