"""Alert rules: who hears about a run, and when.

A rule names events (`on`) and where to tell of them (a webhook URL, email addresses):

    alerts:
      - on: [failure, timeout]
        webhook: https://hooks.example.com/shoal
        email: [oncall@example.com]
      - on: [long_running]
        after: 30m
        email: oncall@example.com

A workflow's `alerts` are its own; a workflow without the key uses its project's default rules
(`shoal project alerts`), and `alerts: []` opts out of those. The same model reads both, so a
project default is checked exactly as a workflow's rules are.

Values are data: a webhook URL is only ever POSTed to and an address only ever put in a To:
header by the email library; neither is run or spliced into anything. An address is refused if
it could carry a second header or recipient (line breaks, commas, angle brackets).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, model_validator

from shoal.spec.errors import suggest
from shoal.units import parse_duration

Event = Literal["failure", "success", "timeout", "retry", "long_running"]
EVENTS: tuple[str, ...] = ("failure", "success", "timeout", "retry", "long_running")
# Events of a run ending, of one attempt of a task, and of a run still going.
RUN_EVENTS = frozenset({"failure", "success"})
TASK_EVENTS = frozenset({"timeout", "retry"})

MAX_URL_LENGTH = 2000
MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a path
MAX_ADDRESSES = 50
MAX_RULES = 50
MAX_AFTER = 365 * 86400.0
# local@domain with nothing that could end a header or add a recipient: no whitespace, no
# commas, semicolons, quotes or angle brackets; a dot-separated domain.
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")


def _events(value: Any) -> Any:
    """`on` as a list of known events; a single name is a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value  # pydantic says what it expected
    for item in value:
        if isinstance(item, str) and item not in EVENTS:
            raise ValueError(f"unknown event {item!r}{suggest(item, EVENTS)}: use {', '.join(EVENTS)}")
    if len(set(map(str, value))) != len(value):
        raise ValueError("an event is listed twice: list each once")
    return value


def _webhook(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"the webhook URL is {len(value)} characters long: at most {MAX_URL_LENGTH}")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ValueError("the webhook URL holds whitespace or a control character: percent-encode it")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid webhook URL {_short(value)}: use an http:// or https:// URL with a host")
    return value


def _addresses(value: Any) -> Any:
    """`email` as a list of plain addresses; a single address is a list of one."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    for item in value:
        if not isinstance(item, str):
            continue  # pydantic says a string was expected
        if len(item) > MAX_ADDRESS_LENGTH or not _ADDRESS.match(item):
            raise ValueError(f"invalid email address {_short(item)}: write a plain address such as oncall@example.com "
                             "(no name, no angle brackets, one address per list item)")
    if len(value) > MAX_ADDRESSES:
        raise ValueError(f"{len(value)} email addresses: at most {MAX_ADDRESSES} per rule (use a mailing list)")
    return value


def _after(value: Any) -> Any:
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("after must be greater than 0, e.g. 30m")
    if seconds > MAX_AFTER:
        raise ValueError(f"invalid duration {_short(value)}: at most 365d")
    return seconds


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


class AlertRule(BaseModel):
    """One rule: on these events, tell this webhook and these addresses."""

    model_config = ConfigDict(extra="forbid")

    on: Annotated[list[Event], BeforeValidator(_events), Field(min_length=1)]
    # long_running only: how long a run may run before it is reported (once per run).
    after: Annotated[float | None, BeforeValidator(_after)] = None
    webhook: Annotated[str | None, BeforeValidator(_webhook)] = None
    email: Annotated[list[str], BeforeValidator(_addresses)] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        # YAML 1.1 reads an unquoted `on:` key as the boolean true (as GitHub Actions files
        # know): take it for the `on` it was written as.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if k is True else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _complete(self) -> AlertRule:
        long_running = "long_running" in self.on
        if long_running and self.after is None:
            raise ValueError("a rule on long_running needs `after`: how long a run may take before it is "
                             "reported, e.g. after: 30m")
        if self.after is not None and not long_running:
            raise ValueError("`after` applies to long_running only: add long_running to `on`, or remove `after`")
        if self.webhook is None and not self.email:
            raise ValueError("a rule needs somewhere to send to: add `webhook: https://...` or `email: [...]`")
        return self

    def targets(self) -> list[tuple[str, str]]:
        """(channel, target) pairs: the webhook, then each address."""
        out = [("webhook", self.webhook)] if self.webhook else []
        return out + [("email", address) for address in self.email]


AlertRules = Annotated[list[AlertRule], Field(max_length=MAX_RULES)]
_RULES: TypeAdapter[list[AlertRule]] = TypeAdapter(AlertRules)


def parse_rules(data: Any) -> list[AlertRule]:
    """Rules from plain data (a project default as stored or sent); pydantic's ValidationError
    if they are not valid."""
    return _RULES.validate_python(data)


def rules_to_data(rules: list[AlertRule]) -> list[dict[str, Any]]:
    """Rules as plain data, defaults left out (as a workflow is stored)."""
    return [r.model_dump(mode="json", exclude_defaults=True) for r in rules]


def redact_url(url: str) -> str:
    """A webhook URL as it may be shown: its scheme and host. The path and query of a webhook
    often are its secret (Slack's and most chat hooks are), and user:password may sit in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(invalid URL)"
    rest = "/…" if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


__all__ = [
    "EVENTS", "RUN_EVENTS", "TASK_EVENTS", "AlertRule", "AlertRules", "Event", "parse_rules", "redact_url",
    "rules_to_data",
]
