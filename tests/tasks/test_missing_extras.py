"""A task type whose extra is not installed says which extra to install: when a workflow using it
is applied or validated, and when a run of it (applied where the extra was installed) starts.

"Not installed" is simulated by `sys.modules[name] = None`, which is how Python marks a module
as unimportable: the one fake these tests use. The end-to-end check in a process that can import
none of the optional packages at all is `test_core_only_install_runs_shell_workflows` below.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from shoal import _extras
from shoal._extras import MissingExtra
from shoal.client import Client
from shoal.config import Settings
from shoal.errors import InvalidInput
from shoal.tasks.registry import forget, get_task_type, task_types
from tests.conftest import Hide, cli_runner

ROOT = Path(__file__).resolve().parents[2]



def test_a_type_whose_extra_is_missing_names_the_extra_and_the_others_stay(hide: Hide) -> None:
    hide("gensim")
    with pytest.raises(MissingExtra) as err:
        get_task_type("train")
    message = str(err.value)
    assert "task type 'train'" in message and "gensim" in message and "pip install 'shoal[ml]'" in message
    assert isinstance(err.value, InvalidInput) and isinstance(err.value, ImportError)  # exit code 2
    assert err.value.details == {"extra": "ml", "missing": ["gensim"]}
    types = task_types()
    assert {"shell", "python", "http", "data_import"} <= set(types)
    assert not {"dataset", "train", "evaluate", "release", "batch_predict"} & set(types)
    assert "train" not in types and "shell" in types
    with pytest.raises(MissingExtra, match=r"shoal\[ml\]"):
        types.get("train")  # what validation does: the message, not "unknown task type"
    assert types.get("no_such_type") is None


def test_each_built_in_type_that_needs_an_extra_says_which(hide: Hide) -> None:
    for module, types, extra in [
        ("duckdb", ["sql", "data_import", "feature_extract"], "features"),
        ("jsonpath_ng", ["http"], "http"),
        ("sklearn", ["preprocess", "train"], "ml"),
    ]:
        hide(module)
        for name in types:
            with pytest.raises(MissingExtra, match=rf"'{name}' needs shoal\[{extra}\] \(missing: {module}\)"):
                get_task_type(name)
        sys.modules.pop(module)  # shown again; the next round hides another
        forget()


def test_applying_a_workflow_that_uses_it_says_what_to_install_and_stores_nothing(
    hide: Hide, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide("httpx")
    wf = tmp_path / "wf.yaml"
    wf.write_text("name: calls\ntasks:\n  - {name: a, type: shell, command: 'true'}\n"
                  "  - {name: h, type: http, upstream: [a], url: 'http://127.0.0.1:9/'}\n")
    invoke = cli_runner(monkeypatch, Settings(home=tmp_path / "home"), tmp_path)
    result = invoke("workflow", "apply", str(wf))
    assert result.exit_code == 2, result.output
    assert "task type 'http' needs shoal[http] (missing: httpx)" in result.output
    assert "pip install 'shoal[http]'" in result.output and "Traceback" not in result.output
    listed = invoke("workflow", "list", "--json")
    assert listed.exit_code == 2 and "no shoal database" in listed.output, listed.output  # not even created


def test_a_run_of_a_type_whose_extra_went_missing_fails_saying_what_to_install(
    hide: Hide, client: Client, apply_yaml: Callable[[str], str]
) -> None:
    """Applied where the extra was installed, run where it is not (another scheduler host)."""
    name = apply_yaml("""
        name: calls
        tasks:
          - {name: h, type: http, url: "http://127.0.0.1:9/"}
        """)
    hide("jsonpath_ng")
    info = client.run(name, wait=True, timeout=120)
    assert info.state == "failed", info
    (task,) = info.tasks
    assert task.state == "stopped" and task.pid is None, task  # never started
    assert "task type 'http' needs shoal[http] (missing: jsonpath_ng)" in (task.note or ""), task


def test_a_plugin_importing_an_extras_module_names_that_extra(
    hide: Hide, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "numplugin-0.1.dist-info").mkdir(parents=True)
    (site / "numplugin.py").write_text("import numpy\nfrom shoal.tasks.shell import ShellTask as T\n")
    (site / "numplugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: numplugin\nVersion: 0.1\n")
    (site / "numplugin-0.1.dist-info" / "entry_points.txt").write_text("[shoal.tasks]\nnumeric = numplugin:T\n")
    monkeypatch.syspath_prepend(str(site))
    hide("numpy")
    try:
        with pytest.raises(MissingExtra, match=r"task type 'numeric' needs shoal\[features\] \(missing: numpy\)"):
            get_task_type("numeric")
    finally:
        sys.modules.pop("numplugin", None)


def test_imports_of_translates_only_the_extras_modules(hide: Hide) -> None:
    hide("orjson")
    with pytest.raises(MissingExtra, match=r"`shoal serve` needs shoal\[serve\] \(missing: orjson\)"):
        with _extras.imports_of("`shoal serve`"):
            import orjson  # noqa: F401
    with pytest.raises(ModuleNotFoundError, match="no_such_module_anywhere"):  # a bug stays a bug
        with _extras.imports_of("`shoal serve`"):
            import no_such_module_anywhere  # type: ignore[import-not-found]  # noqa: F401
    with pytest.raises(MissingExtra, match=r"the model server needs shoal\[serve\] \(missing: orjson\)"):
        _extras.require("serve", "fastapi", "orjson", what="the model server")
    _extras.require("serve", "fastapi")  # installed: no error
    with pytest.raises(ValueError, match="unknown extra 'gpu'"):
        _extras.require("gpu")


# Every optional package the extras install, unimportable in the child processes below (and
# in every Python process they start: sitecustomize runs at each interpreter's start).
_SITECUSTOMIZE = """
import sys

HIDDEN = set({hidden!r})


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


@pytest.mark.slow
def test_core_only_install_runs_shell_workflows(tmp_path: Path) -> None:
    """As with `pip install shoal` and no extras: `shoal --help`, apply and `run --wait` of a
    shell workflow work, and an ML workflow is refused with the extra to install."""
    hidden = sorted({m for modules in _extras.EXTRAS.values() for m in modules})
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(hidden=hidden))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), SHOAL_HOME=str(tmp_path / "home"))

    def shoal(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "shoal.cli.main", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    probe = subprocess.run([sys.executable, "-c", "import numpy"], env=env, capture_output=True, text=True)
    assert probe.returncode == 1 and "No module named 'numpy'" in probe.stderr, probe  # the hiding works

    assert shoal("--help").returncode == 0
    (tmp_path / "shell.yaml").write_text(textwrap.dedent("""
        name: chores
        tasks:
          - {name: a, type: shell, command: "echo '##shoal:set n=1'"}
          - {name: b, type: python, upstream: [a], script: "print('##shoal:set m=2')"}
        """))
    applied = shoal("workflow", "apply", "shell.yaml")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    ran = shoal("run", "chores", "--wait")
    assert ran.returncode == 0 and "success" in ran.stdout, ran.stdout + ran.stderr

    refused = shoal("workflow", "apply", str(ROOT / "examples" / "talkingdata" / "workflow.yaml"))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "needs shoal[features]" in refused.stderr and "pip install 'shoal[features]'" in refused.stderr
    assert "Traceback" not in refused.stderr
