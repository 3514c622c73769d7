"""Task-type tests run real workflows: reuse the engine tests' client / apply / run fixtures."""

from __future__ import annotations

from tests.engine.conftest import apply_yaml, client, run_yaml, workdir

__all__ = ["apply_yaml", "client", "run_yaml", "workdir"]
