"""The root of every error shoal raises on purpose.

    ShoalError
     ├── InvalidInput (ValueError)        bad input from a user: exit code 2, HTTP 4xx
     │    ├── SpecError                    a workflow file/definition is invalid (spec/errors.py)
     │    ├── ParamError                   a ${...} or $[...] reference cannot be resolved
     │    └── InvalidTransition            a state change the transition table forbids
     ├── NotFound (LookupError)           a named workflow, run, task or version does not exist
     ├── Conflict                         the request is valid but the current state forbids it
     ├── Forbidden (PermissionError)      the acting user may not do this in that project
     ├── StoreUnavailable                 the metadata database (SHOAL_DB_URL) cannot be opened
     │    └── NoDatabase                   a command that only reads found no shoal database there
     └── TaskFailed (RuntimeError)        a task run ended in failure (raised inside task code)

The CLI prints the message and exits 2 for `InvalidInput`/`NotFound`/`Conflict`/`Forbidden`/`StoreUnavailable`
(nothing was changed), 1 for the rest; the API maps them to 4xx JSON
`{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

from typing import Any


class ShoalError(Exception):
    """Base class: every error shoal raises deliberately derives from this."""

    code = "shoal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class InvalidInput(ShoalError, ValueError):
    """Raised when user input (a file, an option, a parameter) is wrong; nothing was changed."""

    code = "invalid_input"


class ParamError(InvalidInput):
    """Raised when a `${...}` or `$[...]` reference cannot be parsed or resolved."""

    code = "param_error"


class InvalidTransition(InvalidInput):
    """Raised when asked for a state change that the transition table does not allow."""

    code = "invalid_transition"


class NotFound(ShoalError, LookupError):
    """Raised when a named object (workflow, version, run, task, schedule) does not exist."""

    code = "not_found"


class Conflict(ShoalError):
    """Raised when a request is well-formed but the current state forbids it (e.g. rerun a running run)."""

    code = "conflict"


class Forbidden(ShoalError, PermissionError):
    """Raised when the acting user lacks the role a request needs in a project (e.g. a workflow
    of one project starting another project's workflow); nothing was changed."""

    code = "forbidden"


class Unauthorized(ShoalError):
    """Raised when a request to the API carries no token, or one that is unknown, expired or
    revoked; nothing was changed. (A known user without the role a request needs: Forbidden.)"""

    code = "unauthorized"


class StoreUnavailable(ShoalError):
    """Raised when the metadata database cannot be opened: a missing database, a server that does
    not answer, a bad URL or a missing driver. The message says what to fix; nothing was changed."""

    code = "store_unavailable"


class NoDatabase(StoreUnavailable):
    """Raised when a command that only reads finds no shoal database where it looked (it never
    creates one): the message names the place and says to run `shoal init` or set SHOAL_HOME."""

    code = "no_database"


class TaskFailed(ShoalError, RuntimeError):
    """Raised by task code to fail its task run with a message (no traceback in the log)."""

    code = "task_failed"


# pydantic's error types -> what the value should have been, in the user's words: workflow
# files, settings and command-line values all say "expected a whole number, got 'abc'" rather
# than pydantic's "Input should be a valid integer, unable to parse string as an integer".
_EXPECTED = {
    "int_parsing": "a whole number", "int_from_float": "a whole number", "int_type": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "string_type": "text (a string)",
    "dict_type": "a mapping (key: value)", "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list", "tuple_type": "a list", "set_type": "a list",
    "date_parsing": "a date (YYYY-MM-DD)", "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
    "date_type": "a date (YYYY-MM-DD)",
    "datetime_parsing": "a date and time (YYYY-MM-DDTHH:MM)", "datetime_type": "a date and time (YYYY-MM-DDTHH:MM)",
    "datetime_from_date_parsing": "a date and time (YYYY-MM-DDTHH:MM)",
}
_BOUNDS = {"greater_than": ("gt", "more than"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "less than"), "less_than_equal": ("le", "at most")}


def expected_value(error: dict[str, Any]) -> str | None:
    """What a value should have been, from one of pydantic's `ValidationError.errors()`; None
    for an error this does not know (the caller keeps pydantic's own message)."""
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, words = _BOUNDS[kind]
        bound = ctx[key]
        return f"a number {words} {int(bound) if isinstance(bound, float) and bound.is_integer() else bound}"
    if kind in ("enum", "literal_error") and "expected" in ctx:
        return str(ctx["expected"])  # pydantic's own listing: "'end' or 'continue'"
    return None
