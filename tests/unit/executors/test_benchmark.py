"""Chains of 200 trivial attempts complete, with a printed (never asserted) cost per attempt.

The number is the executor's round trip seen by a driver: submit, the process runs, the
Result comes back from poll — logs and result files included, no database.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shoal.executors.base import Launch
from shoal.executors.local import LocalExecutor

from .conftest import HERE, wait_for

CHAIN = 200


@pytest.fixture(scope="module")
def warm() -> Iterator[LocalExecutor]:
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", HERE)  # so the server can preload `targets`, like a real task module
    try:
        with LocalExecutor(preload=["targets"], workers=2) as executor:
            yield executor
    finally:
        mp.undo()


KINDS: dict[str, Callable[[str, Path], Launch]] = {
    "command": lambda key, d: Launch(key=key, kind="command", argv=["true"],
                                     log_path=f"{d}/{key}.log", result_path=f"{d}/{key}.json"),
    "fork": lambda key, d: Launch(key=key, kind="python", target="targets:noop",
                                  log_path=f"{d}/{key}.log", result_path=f"{d}/{key}.json"),
    "worker": lambda key, d: Launch(key=key, kind="python", target="targets:noop", isolation="worker",
                                    log_path=f"{d}/{key}.log", result_path=f"{d}/{key}.json"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(KINDS))
def test_chain_of_200_attempts_completes(
    warm: LocalExecutor, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make = KINDS[kind]
    assert wait_for(warm, _submit(warm, make(f"{kind}-warmup:1", tmp_path))).is_success
    times = []
    start = time.perf_counter()
    for i in range(CHAIN):
        t0 = time.perf_counter()
        result = wait_for(warm, _submit(warm, make(f"{kind}-{i}:1", tmp_path)))
        times.append(time.perf_counter() - t0)
        assert result.is_success, result
    mean = (time.perf_counter() - start) / CHAIN
    with capsys.disabled():
        print(
            f"\n[executor round trip, {CHAIN} sequential `{kind}` attempts] mean {mean * 1e3:.2f} ms, "
            f"median {statistics.median(times) * 1e3:.2f} ms, min {min(times) * 1e3:.2f} ms per attempt"
        )


def _submit(executor: LocalExecutor, launch: Launch) -> str:
    executor.submit(launch)
    return launch.key
