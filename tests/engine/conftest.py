"""Helpers for engine tests: apply a workflow from YAML text and run it to the end."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest

from shoal.client import Client
from shoal.engine.runs import RunInfo
from shoal.store import Store


class RunYaml(Protocol):
    def __call__(self, yaml_text: str, **run_kwargs: object) -> RunInfo: ...


@pytest.fixture
def client(store: Store, executor) -> Client:  # type: ignore[no-untyped-def]
    return Client(store=store, executor=executor)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "wf"
    d.mkdir()
    return d


@pytest.fixture
def apply_yaml(client: Client, workdir: Path) -> Callable[[str], str]:
    """Write YAML into the work dir, apply it; returns the workflow name."""

    def apply(yaml_text: str) -> str:
        path = workdir / f"wf_{len(list(workdir.glob('*.yaml')))}.yaml"
        path.write_text(textwrap.dedent(yaml_text))
        (result,) = client.apply_path(path)
        return result.name

    return apply


@pytest.fixture
def run_yaml(client: Client, apply_yaml: Callable[[str], str]) -> RunYaml:
    def run(yaml_text: str, **run_kwargs: object) -> RunInfo:
        name = apply_yaml(yaml_text)
        return client.run(name, wait=True, timeout=120, **run_kwargs)  # type: ignore[arg-type]

    return run


def states(info: RunInfo) -> dict[str, str]:
    return {t.task: t.state for t in info.tasks}


def outputs(info: RunInfo, task: str) -> dict[str, object]:
    return next(t.outputs for t in info.tasks if t.task == task)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """`cli(*args)`: the `shoal` CLI in-process on a fresh SQLite home."""
    from shoal.config import Settings
    from tests.conftest import cli_runner

    return cli_runner(monkeypatch, Settings(home=tmp_path / "clihome"), tmp_path)


@pytest.fixture
def stepper(store: Store, workdir: Path):  # type: ignore[no-untyped-def]
    """A Driver on the in-process executor with a fake clock, stepped by the test (no sleeps)."""
    from tests.engine.stepping import Stepper

    s = Stepper(store, workdir)
    yield s
    s.close()
