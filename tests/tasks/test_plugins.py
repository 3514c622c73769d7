"""Task types come from the `shoal.tasks` entry point group: built-ins and third-party plugins.

Plugins here are real installed distributions: a package plus a `*.dist-info` directory with
`METADATA` and `entry_points.txt`, put on `sys.path`, found by `importlib.metadata`.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shoal.client import Client
from shoal.config import Settings
from shoal.engine.paths import log_path
from shoal.spec.errors import SpecError
from shoal.spec.io import read_file
from shoal.store import open_store
from shoal.tasks.base import TaskType
from shoal.tasks.registry import DuplicateTaskType, forget, task_types

BUILTINS = ("shell", "python", "sql", "http", "switch", "condition", "sub_workflow", "dependent")

GREET_MODULE = '''
from pydantic import Field

from shoal.tasks.base import TaskParams, TaskType


class GreetParams(TaskParams):
    who: str = Field(description="whom to greet")
    excited: bool = False


class GreetTask(TaskType):
    name = "greet"
    Params = GreetParams
    kind = "process"

    def run(self, ctx):
        print(f"greeting {ctx.params.who} from run {ctx.run_id}")
        return {"greeting": f"hello {ctx.params.who}" + ("!" if ctx.params.excited else "")}


def helper():
    return 1
'''

MakePlugin = Callable[[str, str, str], None]


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePlugin]:
    """`make_plugin(dist, module_source, entry_points_txt)`: install a one-module distribution
    (module name == dist name) under tmp_path/site, which is put first on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    modules: list[str] = []

    def make(dist: str, source: str, entry_points: str) -> None:
        (site / f"{dist}.py").write_text(textwrap.dedent(source))
        info = site / f"{dist}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
        modules.append(dist)

    monkeypatch.syspath_prepend(str(site))
    forget()
    yield make
    forget()  # looked up again lazily, after monkeypatch has restored sys.path
    for name in modules:
        sys.modules.pop(name, None)


def test_every_builtin_type_is_registered_with_a_json_schema_form() -> None:
    types = task_types()
    assert set(BUILTINS) <= set(types)
    for name in BUILTINS:
        task_type = types[name]
        assert isinstance(task_type, TaskType) and task_type.name == name
        schema = task_type.Params.model_json_schema()
        assert isinstance(schema, dict) and isinstance(schema.get("properties"), dict), name
        assert json.loads(json.dumps(schema)) == schema


def test_plugin_type_is_discovered_and_its_params_are_validated(make_plugin: MakePlugin, tmp_path: Path) -> None:
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\ngreet = fakeplugin:GreetTask\n")
    types = task_types()
    assert set(BUILTINS) | {"greet"} <= set(types)
    assert type(types["greet"]).__module__ == "fakeplugin"
    assert set(types["greet"].Params.model_json_schema()["properties"]) == {"who", "excited"}

    good = tmp_path / "good.yaml"
    good.write_text("name: hi\ntasks:\n  - {name: hi, type: greet, who: world}\n")
    (loaded,) = read_file(good, task_types())
    assert loaded.workflow.tasks[0].config == {"who": "world"}

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: hi\ntasks:\n  - {name: hi, type: greet, who: world, whom: typo}\n")
    with pytest.raises(SpecError) as err:
        read_file(bad, task_types())
    assert "whom" in str(err.value) and "'hi'" in str(err.value)


def test_plugin_task_runs_in_a_real_run(
    make_plugin: MakePlugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\ngreet = fakeplugin:GreetTask\n")
    # A fresh executor (not the shared one, which started before the plugin existed); its
    # processes find the plugin through PYTHONPATH.
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    wf = tmp_path / "greet.yaml"
    wf.write_text(textwrap.dedent("""
        name: greeting
        params: {who: world}
        tasks:
          - {name: hi, type: greet, who: "${who}", excited: true}
          - {name: after, type: shell, upstream: [hi], command: "echo '##shoal:set got=${hi.greeting}'"}
        """))
    client = Client(store=open_store(Settings(home=tmp_path / "home")))
    try:
        client.apply_path(wf)
        info = client.run("greeting", wait=True, timeout=120)
    finally:
        client.close()
    assert info.state == "success", info
    outs = {t.task: t.outputs for t in info.tasks}
    assert outs == {"hi": {"greeting": "hello world!"}, "after": {"got": "hello world!"}}
    assert f"greeting world from run {info.id}" in log_path(client.store.logs_dir, info.id, "hi", 1).read_text()


def test_plugin_that_fails_to_import_is_logged_and_skipped(
    make_plugin: MakePlugin, caplog: pytest.LogCaptureFixture
) -> None:
    make_plugin("brokenplugin", "raise RuntimeError('boom at import')\n", "[shoal.tasks]\nbroken = brokenplugin:Task\n")
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\ngreet = fakeplugin:GreetTask\nhelper = fakeplugin:helper\n")
    with caplog.at_level(logging.WARNING, logger="shoal.tasks.registry"):
        types = task_types()
    assert set(BUILTINS) | {"greet"} <= set(types)
    assert "broken" not in types and "helper" not in types
    messages = [r.getMessage() for r in caplog.records if r.name == "shoal.tasks.registry"]
    assert any("'broken'" in m and "brokenplugin:Task" in m and "boom at import" in m for m in messages), messages
    assert any("'helper'" in m and "not a TaskType" in m for m in messages), messages


def test_two_packages_registering_one_name_is_an_error_naming_both(make_plugin: MakePlugin) -> None:
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\ngreet = fakeplugin:GreetTask\n")
    make_plugin("otherplugin", GREET_MODULE, "[shoal.tasks]\ngreet = otherplugin:GreetTask\n")
    with pytest.raises(DuplicateTaskType) as err:
        task_types()
    message = str(err.value)
    assert "'greet'" in message and "fakeplugin:GreetTask" in message and "otherplugin:GreetTask" in message
    assert "uninstall" in message or "rename" in message


def test_plugin_cannot_take_over_a_builtin_name(make_plugin: MakePlugin) -> None:
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\nshell = fakeplugin:GreetTask\n")
    with pytest.raises(DuplicateTaskType, match=r"'shell'.*(shoal\.tasks\.shell:ShellTask|fakeplugin:GreetTask)"):
        task_types()


def test_a_run_whose_plugin_broke_after_apply_fails_and_the_others_go_on(
    make_plugin: MakePlugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin imported when the workflow was applied and fails when the run is driven: that
    run fails with the import error, without stopping the driver (or a scheduler) and its other
    runs; `runs recover` goes on with it once the plugin is fixed."""
    make_plugin("fakeplugin", GREET_MODULE, "[shoal.tasks]\ngreet = fakeplugin:GreetTask\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    (tmp_path / "greet.yaml").write_text("name: greeting\ntasks:\n  - {name: hi, type: greet, who: you}\n")
    (tmp_path / "plain.yaml").write_text("name: plain\ntasks:\n  - {name: a, type: shell, command: 'true'}\n")
    client = Client(store=open_store(Settings(home=tmp_path / "home")))
    try:
        client.apply_path(tmp_path / "greet.yaml")
        client.apply_path(tmp_path / "plain.yaml")
        (tmp_path / "site" / "fakeplugin.py").write_text("raise ImportError('the plugin broke')\n")
        sys.modules.pop("fakeplugin", None)
        forget()
        broken, plain = client.run("greeting").id, client.run("plain").id
        client.wait([broken, plain], timeout=120)
        info = client.get_run(broken)
        assert info.state == "failed", info
        assert "greet" in (info.error or "") and "the plugin broke" in (info.error or ""), info.error
        assert f"runs recover {broken}" in (info.error or "")
        assert [(t.task, t.state) for t in info.tasks] == [("hi", "stopped")]
        assert client.get_run(plain).state == "success"
    finally:
        client.close()
