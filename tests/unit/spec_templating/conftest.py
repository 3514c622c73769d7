from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from shoal.spec.templating import Scope, build_builtins

SHANGHAI = ZoneInfo("Asia/Shanghai")


class MakeScope(Protocol):
    def __call__(
        self,
        *,
        run: dict[str, str] | None = None,
        task: dict[str, str] | None = None,
        workflow: dict[str, str] | None = None,
        outputs: dict[str, dict[str, Any]] | None = None,
        logical_date: datetime | None = None,
    ) -> Scope: ...


@pytest.fixture
def make_scope() -> MakeScope:
    """A task's scope with built-ins for `logical_date` (default 2026-03-01 00:30 Shanghai)."""

    def make(
        *,
        run: dict[str, str] | None = None,
        task: dict[str, str] | None = None,
        workflow: dict[str, str] | None = None,
        outputs: dict[str, dict[str, Any]] | None = None,
        logical_date: datetime | None = None,
    ) -> Scope:
        when = logical_date or datetime(2026, 3, 1, 0, 30, tzinfo=SHANGHAI)
        return Scope(
            run_params=run or {},
            task_params=task or {},
            workflow_params=workflow or {},
            builtins=build_builtins(when, 42, "etl", "ads", task="train", attempt=1),
            outputs=outputs or {},
            logical_date=when,
        )

    return make
