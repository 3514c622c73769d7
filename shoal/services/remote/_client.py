"""The HTTP side of the remote face: one httpx client for a command's requests to SHOAL_API_URL,
its token, its errors, and decoding answers into the services' own dataclasses.

The token is a pydantic SecretStr from the settings: it goes into the Authorization header of
each request and nowhere else (never a message, a repr or a log line).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError

from shoal import __version__
from shoal.errors import ShoalError, Unauthorized
from shoal.services.remote.errors import TOKEN_HINT, error_from_answer, unreachable

__all__ = ["API", "Api", "decode", "part"]

T = TypeVar("T")
API = "/api/v1"
TIMEOUT = 30.0  # seconds for one request; a waiting command polls, it never holds one open
PAGE = 1000  # the API's largest page


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def decode(kind: type[T] | Any, data: Any) -> T:
    """`data` (an API answer's JSON) as `kind`: a service's dataclass, or a list of them. The
    API encodes them as `shoal.services.encoding.jsonable` does (ISO dates, lists for tuples);
    pydantic reads that back into the same fields."""
    try:
        return _adapter(kind).validate_python(data)
    except ValidationError as exc:
        # A server of another shoal version whose answers have changed shape: say so, not a traceback.
        raise ShoalError(f"the server's answer is not what shoal {__version__} expects ({exc.error_count()} "
                         "problem(s), e.g. " + _first(exc) + "): run the same shoal version here and on the server"
                         ) from None


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(str(p) for p in err['loc']) or 'the answer'}: {err['msg']}"


def part(text: str) -> str:
    """A name as one segment of a URL path (a task or workflow name is data, never a path)."""
    return quote(str(text), safe="")


class Api:
    """Requests to one shoal server as one user. `base`: SHOAL_API_URL (with or without /api/v1)."""

    def __init__(self, base: str, token: SecretStr | None, *, transport: httpx.BaseTransport | None = None) -> None:
        self.base = base.rstrip("/").removesuffix(API)
        self._token = token
        self._http = httpx.Client(base_url=self.base, timeout=TIMEOUT, transport=transport,
                                  headers={"User-Agent": f"shoal-cli/{__version__}"})
        # Runs are addressed within their project: where a command learnt a run's project (it
        # started or showed it), it asks for the run there later (`run --wait` polls it).
        self.run_projects: dict[int, str] = {}

    def __repr__(self) -> str:  # never the token
        return f"Api({self.base!r})"

    @property
    def where(self) -> str:
        return f"{self.base}{API} (SHOAL_API_URL)"

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                json: Any = None) -> httpx.Response:
        """One request to API + `path`; a ShoalError for an error answer or no answer."""
        if self._token is None or not self._token.get_secret_value():
            raise Unauthorized(f"SHOAL_API_URL is set but SHOAL_TOKEN is not: set it to an API token of {self.base} "
                               f"({TOKEN_HINT})")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            answer = self._http.request(method, API + path, params=query, json=json, headers=headers)
        except httpx.HTTPError as exc:  # no answer (refused, timed out, broken off)
            raise unreachable(self.base, _reason(exc)) from None
        if answer.status_code >= 400:
            raise self._error(answer)
        return answer

    def _error(self, answer: httpx.Response) -> ShoalError:
        try:
            body = answer.json()
        except ValueError:
            body = None
        return error_from_answer(answer.status_code, body, url=self.base)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, json: Any = None, **params: Any) -> Any:
        return self.request("POST", path, params=params, json=json if json is not None else {}).json()

    def pages(self, path: str, *, limit: int | None = None, **params: Any) -> Iterator[Any]:
        """The items of a paged list (`{"items", "next_cursor"}`), page after page, at most `limit`."""
        cursor: str | None = None
        given = 0
        while True:
            size = PAGE if limit is None else max(1, min(PAGE, limit - given))
            page = self.get(path, cursor=cursor, limit=size, **params)
            for item in page["items"]:
                if limit is not None and given >= limit:
                    return
                given += 1
                yield item
            cursor = page.get("next_cursor")
            if not cursor or (limit is not None and given >= limit):
                return


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "the connection was refused or the host is unknown"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {TIMEOUT:g}s"
    return type(exc).__name__
