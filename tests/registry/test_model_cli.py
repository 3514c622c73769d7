"""`shoal model ...` on both backends: JSON output that parses and matches, errors that exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shoal.config import Settings
from shoal.registry import Registry
from shoal.store import Store
from tests.conftest import cli_runner
from tests.registry.conftest import REPORT
from tests.serving.conftest import free_port


@pytest.fixture
def cli(store_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The CLI against the store of `store_settings` (SQLite under SHOAL_HOME, or PostgreSQL)."""
    return cli_runner(monkeypatch, store_settings, tmp_path)


def _json(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _register_three(cli, bundle_dirs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    r = cli("model", "register", "ctr", str(bundle_dirs[0]), "--metrics", '{"auc": 0.9}', "--json")
    doc = _json(r)
    assert doc["version"] == 1 and doc["metrics"] == {"auc": 0.9} and doc["flavor"] == "xgboost"
    r = cli("model", "register", "ctr", str(bundle_dirs[1]))
    assert r.exit_code == 0 and "registered ctr version 2" in r.output, r.output
    assert _json(cli("model", "register", "ctr", str(bundle_dirs[2]), "--json"))["version"] == 3


@pytest.mark.slow
def test_list_versions_show_release_rollback_json(cli, store: Store, bundle_dirs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    assert _json(cli("model", "list", "--json")) == []
    _register_three(cli, bundle_dirs)

    rel = _json(cli("model", "release", "ctr", "1", "--json"))
    assert (rel["model"], rel["alias"], rel["action"], rel["from_version"], rel["to_version"]) == \
        ("ctr", "production", "release", None, 1)
    rel = _json(cli("model", "release", "ctr", "2", "--json"))
    assert (rel["from_version"], rel["to_version"]) == (1, 2)
    r = cli("model", "release", "ctr", "3")
    assert r.exit_code == 0 and "production → v3 (was v2)" in r.output, r.output
    assert _json(cli("model", "release", "ctr", "1", "--alias", "staging", "--json"))["alias"] == "staging"

    listed = _json(cli("model", "list", "--json"))
    assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == \
        [("ctr", 3, {"production": 3, "staging": 1})]
    assert listed[0]["project"] == "default"

    versions = _json(cli("model", "versions", "ctr", "--json"))
    assert [(v["version"], v["aliases"]) for v in versions] == [(1, ["staging"]), (2, []), (3, ["production"])]
    reg = Registry(store)
    assert versions == [v.to_json() for v in reg.versions("ctr")]

    shown = _json(cli("model", "show", "ctr", "--json"))
    assert shown["version"] == 3 and shown["aliases"] == ["production"]
    assert shown["signature"]["inputs"] == {"clicks": "int", "app": "int", "hour": "float"}
    assert [(h["alias"], h["to_version"]) for h in shown["history"]] == \
        [("production", 1), ("production", 2), ("production", 3), ("staging", 1)]
    assert _json(cli("model", "show", "ctr", "--version", "1", "--json"))["metrics"] == {"auc": 0.9}
    assert _json(cli("model", "show", "ctr", "--alias", "staging", "--json"))["version"] == 1

    rb = _json(cli("model", "rollback", "ctr", "--json"))
    assert (rb["action"], rb["from_version"], rb["to_version"]) == ("rollback", 3, 2)
    r = cli("model", "rollback", "ctr")
    assert r.exit_code == 0 and "rolled back to v1 (was v2)" in r.output, r.output
    rb = _json(cli("model", "rollback", "ctr", "--to", "3", "--json"))
    assert (rb["from_version"], rb["to_version"]) == (1, 3)
    assert reg.alias_version("ctr") == 3 and reg.alias_version("ctr", "staging") == 1


def test_show_prints_the_release_history(cli, bundle_dirs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    _register_three(cli, bundle_dirs)
    cli("model", "release", "ctr", "1")
    cli("model", "release", "ctr", "2")
    cli("model", "rollback", "ctr")
    r = cli("model", "show", "ctr", "--version", "1")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "ctr version 1 (xgboost)" in out and "aliases: production" in out
    assert "metrics: auc=0.9" in out and "preprocessing: log" in out
    assert "release history" in out
    history = [line for line in out.splitlines() if "production" in line and ("release" in line or "rollback" in line)]
    assert len(history) == 3, out
    assert "release" in history[0] and "v1" in history[0]
    assert "release" in history[1] and "v1" in history[1] and "v2" in history[1]
    assert "rollback" in history[2] and "v2" in history[2] and "v1" in history[2]
    listing = cli("model", "list").output
    assert "ctr" in listing and "production→v1" in listing
    versions = cli("model", "versions", "ctr").output
    assert "auc=0.9" in versions and "production" in versions


def test_show_sums_up_the_evaluation(cli, store: Store, bundle_dirs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    Registry(store).register("ctr", bundle_dirs[0], evaluation=REPORT)
    Registry(store).register("ctr", bundle_dirs[1])
    r = cli("model", "show", "ctr", "--version", "1")
    assert r.exit_code == 0, r.output
    out = " ".join(r.output.split())  # the console folds long lines
    assert ("evaluation: binary, 4 rows; at threshold 0.5: tn=2 fp=0 fn=0 tp=2; roc, pr; importance (gain) of 2 "
            "features") in out, out
    out = " ".join(cli("model", "show", "ctr").output.split())
    assert "evaluation: none (a release task stores one with evaluation: '${evaluate.evaluation}')" in out, out


def test_errors_exit_2_and_change_nothing(cli, store: Store, bundle_dirs: list[Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = cli("model", "release", "ghost-model", "1")
    assert r.exit_code == 2 and "ghost-model" in r.output, r.output
    r = cli("model", "rollback", "ghost-model")
    assert r.exit_code == 2 and "ghost-model" in r.output

    cli("model", "register", "ctr", str(bundle_dirs[0]))
    r = cli("model", "rollback", "ctr")
    assert r.exit_code == 2 and "no earlier release" in r.output, r.output
    cli("model", "release", "ctr", "1")
    r = cli("model", "rollback", "ctr", "--json")
    assert r.exit_code == 2 and "no earlier release" in r.output and r.stdout == "", r.output
    r = cli("model", "release", "ctr", "5")
    assert r.exit_code == 2 and "version 5" in r.output
    r = cli("model", "show", "ctr", "--alias", "staging")
    assert r.exit_code == 2 and "staging" in r.output
    r = cli("model", "versions", "ghost-model", "--json")
    assert r.exit_code == 2 and "ghost-model" in r.output and r.stdout == ""

    not_bundle = tmp_path / "empty"
    not_bundle.mkdir()
    r = cli("model", "register", "ctr", str(not_bundle))
    assert r.exit_code == 2 and str(not_bundle) in r.output.replace("\n", ""), r.output
    r = cli("model", "register", "bad name", str(bundle_dirs[0]))
    assert r.exit_code == 2 and "model name" in r.output
    r = cli("model", "register", "ctr", str(bundle_dirs[1]), "--metrics", "{oops")
    assert r.exit_code == 2 and "--metrics is not JSON" in r.output

    reg = Registry(store)
    assert [v.version for v in reg.versions("ctr")] == [1]
    assert reg.alias_version("ctr") == 1 and len(reg.history("ctr")) == 1
    assert [m.name for m in reg.models()] == ["ctr"]


@pytest.mark.slow
def test_serve_refuses_what_it_cannot_serve(cli, bundle_dirs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    r = cli("serve", "nope", "--port", str(free_port()))
    assert r.exit_code == 2 and "no shoal database" in r.output and "shoal init" in r.output, r.output
    assert cli("init").exit_code == 0
    r = cli("serve", "nope", "--port", str(free_port()))
    assert r.exit_code == 2 and "no model 'nope'" in r.output
    assert cli("model", "register", "ctr", str(bundle_dirs[0])).exit_code == 0
    r = cli("serve", "ctr", "--alias", "staging", "--port", str(free_port()))  # registered, never released as staging
    assert r.exit_code == 2 and "no alias 'staging'" in r.output and "shoal model release ctr" in r.output
