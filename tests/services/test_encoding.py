"""`services.encoding`: the API's orjson answers are the JSON the CLI's `--json` prints."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shoal.services.encoding import dumps, jsonable


@dataclass(frozen=True)
class Inner:
    when: datetime
    day: date

    def to_json(self) -> dict[str, Any]:
        return {"when": self.when.isoformat(), "custom": True}


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    items: list[Inner] = field(default_factory=list)
    counts: dict[int, str] = field(default_factory=dict)
    path: Path = Path("/tmp/x")
    at: datetime = datetime(2026, 12, 7, 19, 0, 1, 5, tzinfo=UTC)
    naive: datetime = datetime(2026, 12, 7, 19, 0)
    outputs: dict[str, Any] = field(default_factory=dict)


def test_dumps_writes_what_json_dumps_with_jsonable_writes() -> None:
    inner = Inner(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), date(2026, 1, 2))
    value = {"page": Outer("r", inner, [inner, inner], {1: "a"}, outputs={"rows": 3, "auc": 0.5}), "n": None}
    assert json.loads(dumps(value)) == json.loads(json.dumps(value, default=jsonable))
    assert json.loads(dumps(value))["page"]["inner"] == {"when": "2026-01-02T03:04:05+00:00", "custom": True}
    assert json.loads(dumps(value))["page"]["at"] == "2026-12-07T19:00:01.000005+00:00"


def test_an_integer_past_64_bits_in_a_tasks_outputs_still_encodes() -> None:
    big = {"outputs": {"n": 2**70, "when": date(2026, 1, 1)}}
    assert json.loads(dumps(big)) == {"outputs": {"n": 2**70, "when": "2026-01-01"}}
