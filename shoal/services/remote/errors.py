"""The API's error answers turned back into the ShoalErrors the services raise, so that a
command against a server prints the same message and exits with the same code as on its own
database.

Each 4xx answer is `{"error": {"code", "message", "details"}}` (`shoal.api.app`); the status
picks the kind, a few codes pick a finer one (a spec error keeps its list of problems, so the
CLI prints the same lines). Importing nothing beyond shoal's errors, it is tested without a
server or httpx.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from shoal.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    ParamError,
    ShoalError,
    StoreUnavailable,
    Unauthorized,
)
from shoal.spec.errors import Problem, SpecError

__all__ = ["BY_CODE", "BY_STATUS", "error_from_answer", "unreachable"]

# The status of `shoal.api.app.STATUS`, read backwards.
BY_STATUS: dict[int, type[ShoalError]] = {
    400: InvalidInput, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: InvalidInput,
    422: InvalidInput, 503: StoreUnavailable,
}
# Codes whose class says more than the status (and which the CLI treats the same way).
BY_CODE: dict[str, type[ShoalError]] = {"param_error": ParamError, "invalid_transition": InvalidTransition}
_PROBLEM_FIELDS = tuple(f.name for f in fields(Problem))
TOKEN_HINT = "SHOAL_TOKEN is the token sent; `shoal token create USER` on the server makes one"


def error_from_answer(status: int, body: Any, *, url: str) -> ShoalError:
    """The ShoalError an API answer with `status` (>= 400) and JSON `body` stands for."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        # Not shoal's error shape: a proxy in between, or a server failure (500).
        kind = BY_STATUS.get(status, ShoalError)
        return kind(f"the server at {url} answered HTTP {status} without a shoal error: is SHOAL_API_URL a shoal "
                    "server? (its log says more)")
    code = str(error.get("code") or "")
    message = error["message"]
    details = error.get("details") if isinstance(error.get("details"), dict) else {}
    if code == "spec_error":
        problems = _problems(details.get("problems"))
        if problems:
            return SpecError(problems)
    if status == 401:
        message = f"{message} ({TOKEN_HINT})"
    kind = BY_CODE.get(code) or BY_STATUS.get(status, ShoalError)
    exc = kind(message, **{str(k): v for k, v in details.items()})
    if code and code != kind.code:
        exc.code = code  # e.g. `release_refused`: kept for `--json` readers and tests
    return exc


def _problems(raw: Any) -> list[Problem]:
    if not isinstance(raw, list):
        return []
    out = []
    for p in raw:
        if isinstance(p, dict) and isinstance(p.get("message"), str):
            out.append(Problem(**{name: p.get(name) for name in _PROBLEM_FIELDS}))
    return out


def unreachable(url: str, reason: str) -> StoreUnavailable:
    """The server does not answer: where the CLI looked and how to go on."""
    return StoreUnavailable(
        f"cannot reach the shoal API at {url} (SHOAL_API_URL): {reason}; check the server is running there "
        "(`shoal server`) and the URL, or unset SHOAL_API_URL to use this machine's own database"
    )
