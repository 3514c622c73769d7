"""How `shoal` talks about itself: the root command group, which keeps typer's help and
parameter errors in the user's words.

- Flags and counts take no value, so their help shows no type (`--wait <bool>`, `-v <int>`).
- A value typer could not convert says so plainly, naming the parameter: `'abc' is not a whole
  number`, not pydantic's "Input should be a valid integer, unable to parse string as an integer".
- Counts and flags (-v, --version, --help, --json...) come from click already converted; typer
  would still import pydantic to convert them, on every command, which would double the time
  of `shoal version`.
"""

from __future__ import annotations

import textwrap
from types import SimpleNamespace
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

from shoal.errors import expected_value

try:  # typer >= 0.2x converts values with pydantic; earlier ones need nothing of this
    from typer._coercion import PassThroughRuntimeParam
except ImportError:  # pragma: no cover - depends on the installed typer
    PassThroughRuntimeParam = None  # type: ignore[assignment,misc]

ENVIRONMENT = {  # shoal.config.Settings, as SHOAL_* variables (tests/cli/test_help.py keeps them in step)
    "SHOAL_HOME": "where the embedded database, logs and artifacts live (default: the nearest .shoal "
                  "upward, else ~/.shoal)",
    "SHOAL_DB_URL": "metadata database URL, e.g. postgresql+psycopg://user@host/shoal (default: SQLite "
                    "in SHOAL_HOME)",
    "SHOAL_ARTIFACTS": "fsspec URL for datasets, models and logs (default: SHOAL_HOME/artifacts)",
    "SHOAL_CPU": "cpu slots of the local executor (default: the machine's)",
    "SHOAL_MEMORY": "memory of the local executor, e.g. 8Gi (default: the machine's)",
    "SHOAL_GPU": "gpus of the local executor (default: the machine's)",
    "SHOAL_ONLINE_STORE": "online feature store: memory or redis://host:port/db",
    "SHOAL_LEASE_SECONDS": "how long a run's claim lasts without a heartbeat before another scheduler "
                           "takes it over (15)",
    "SHOAL_STOP_GRACE_SECONDS": "how long a stopping scheduler lets running tasks finish (30)",
    "SHOAL_MAX_CATCHUP": "most missed fire times a catch-up schedule runs (1000)",
    "SHOAL_METRICS_PUBLIC": "true: the API serves GET /metrics without a token (false)",
    "SHOAL_CORS_ORIGINS": "origins whose pages may call the API, comma-separated (none)",
    "SHOAL_AUTH_CACHE_SECONDS": "how long an API process trusts a token it checked (2; 0: every request)",
    "SHOAL_API_URL": "a shoal server (e.g. http://host:8000): every command goes to its API instead of a "
                     "local database",
    "SHOAL_TOKEN": "the API token sent to SHOAL_API_URL (`shoal token create` on the server)",
    "SHOAL_PUBLIC_URL": "the API's address, for links in alerts (http://127.0.0.1:8000)",
    "SHOAL_SMTP_HOST": "SMTP server for email alerts (docs/alerts.md)",
    "SHOAL_SMTP_PORT": "its port (25)",
    "SHOAL_SMTP_USER": "log in to it as this user",
    "SHOAL_SMTP_PASSWORD": "with this password (never shown)",
    "SHOAL_SMTP_FROM": "From: of alert emails (shoal@localhost)",
    "SHOAL_SMTP_STARTTLS": "use STARTTLS (false)",
    "SHOAL_ALERT_ATTEMPTS": "tries per alert before it fails (5)",
    "SHOAL_ALERT_BACKOFF_SECONDS": "wait before the 2nd try, doubling after (2)",
    "SHOAL_ALERT_BACKOFF_MAX_SECONDS": "longest wait between tries (300)",
    "SHOAL_ALERT_TIMEOUT_SECONDS": "how long one try may take (5)",
    "SHOAL_ALERT_FLUSH_SECONDS": "how long `run --wait` without a scheduler keeps sending its alerts (5)",
}

EPILOG_WIDTH = 78  # an 80-column terminal, less the help's one-space margin on each side
EXAMPLES = (
    "shoal workflow apply examples/hello_ml.yaml",
    "shoal run hello_ml --date 2026-03-01 --wait",
    "shoal runs list",
    "shoal runs logs 1 --follow",
)


def root_epilog() -> str:
    """The root help's last words: a first session, and the environment variables shoal reads
    (one per line: typer keeps single line breaks in an epilog; a long description is folded
    here, under its own column, because rich would fold it back to the left margin)."""
    width = max(map(len, ENVIRONMENT))
    indent = " " * (width + 4)
    variables = [textwrap.fill(f"  {name:<{width}}  {what}", EPILOG_WIDTH, subsequent_indent=indent)
                 for name, what in ENVIRONMENT.items()]
    return "\n".join(["Examples:", *(f"  {e}" for e in EXAMPLES), "", "Environment:", *variables])


def plain_error(exc: typer.BadParameter) -> typer.BadParameter:
    """`exc` in plain words if pydantic said it; else `exc` itself."""
    cause = exc.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return exc
    try:
        first = errors()[0]
    except (IndexError, TypeError):
        return exc
    expected = expected_value(first)
    if expected is not None:
        text = f"{first.get('input')!r} is not {expected}"
    else:
        text = str(first.get("msg", exc.message)).replace("Input should be", "it should be")
    return typer.BadParameter(text, ctx=exc.ctx, param=exc.param)


def quiet_flags(command: Any) -> None:  # a typer command or group
    """No type after a flag or a count in `command`'s help (and its subcommands'), and no
    pydantic to convert their values."""
    # The help option is made on first use; make it now (its names are the default ones). Both
    # are typer's internals: should they change, the help shows `<bool>` again, nothing worse.
    try:
        command.get_help_option(SimpleNamespace(help_option_names=["--help"]))
    except (AttributeError, TypeError):  # pragma: no cover - depends on the installed typer
        pass
    options = [*command.params, getattr(command, "_help_option", None)]
    _quiet(options)
    _converted_by_click(options)
    for sub in getattr(command, "commands", {}).values():
        quiet_flags(sub)


def _quiet(params: list[Any]) -> None:
    for param in params:  # None: a command without a help option
        if isinstance(param, TyperOption) and (param.is_flag or param.count):
            param.metavar = ""  # shown instead of the type: nothing


def _converted_by_click(params: list[Any]) -> None:
    """Counts and flags need no conversion: take each value as click gives it (an int, a bool or
    None) instead of building a pydantic adapter for it."""
    if PassThroughRuntimeParam is None:
        return
    for param in params:
        # Only where typer has not built one (and still keeps it where this version does).
        unbuilt = getattr(param, "_runtime_param", False) is None
        if isinstance(param, TyperOption) and (param.count or getattr(param, "is_bool_flag", False)) and unbuilt:
            kind = int if param.count else bool
            param._runtime_param = PassThroughRuntimeParam(parameter_info=param.type_descriptor.parameter_info,
                                                           annotation=kind)


class ShoalGroup(TyperGroup):
    """The root `shoal` group (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        quiet_flags(self)

    def get_params(self, ctx: typer.Context) -> list[Any]:
        # typer adds --install-completion and --show-completion after building the group.
        params = super().get_params(ctx)
        _quiet(params)
        _converted_by_click(params)
        return params

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:  # a subcommand's value (the root's options take none)
            raise plain_error(exc) from None
