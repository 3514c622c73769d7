"""The model registry on SQLite and PostgreSQL: register, release, rollback, and what each refuses."""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from shoal.errors import NotFound
from shoal.features.catalog import FeatureSetInfo, deploy
from shoal.ml.bundle import ModelBundle
from shoal.registry import Registry
from shoal.registry.artifacts import MANIFEST
from shoal.registry.errors import ModelNotFound, RegistryInputError, ReleaseRefused
from shoal.store import Store
from shoal.store.models import model_releases, model_versions, models
from tests.features.conftest import TALKINGDATA_SQL
from tests.serving.conftest import COLUMNS, frame


def _count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _artifact_dir(mv) -> Path:  # type: ignore[no-untyped-def]
    return Path(mv.artifact_uri)


# -- register ---------------------------------------------------------------------------------------


def test_register_numbers_versions_and_stores_everything(reg: Registry, store: Store, bundle_dirs: list[Path]) -> None:
    metrics = {"auc": np.float64(0.91), "logloss": np.float32(0.25), "rows": 600, "note": "ok"}
    v1 = reg.register("ctr", bundle_dirs[0], metrics=metrics, run_id=7, task_run_id=11, description="first")
    v2 = reg.register("ctr", bundle_dirs[1])
    v3 = reg.register("ctr", bundle_dirs[2])
    assert [v1.version, v2.version, v3.version] == [1, 2, 3]
    assert [v.version for v in reg.versions("ctr")] == [1, 2, 3]

    got = reg.get("ctr", version=1)
    assert got.metrics == {"auc": 0.91, "logloss": 0.25, "rows": 600, "note": "ok"}
    assert all(type(v) in (float, int, str) for v in got.metrics.values())
    assert type(got.metrics["logloss"]) is float
    assert got.run_id == 7 and got.task_run_id == 11 and got.description == "first"
    assert got.flavor == "xgboost"
    assert got.params["num_boost_round"] == 5 and got.params["max_depth"] == 3
    assert got.feature_set is None and got.feature_set_version is None
    assert got.signature == {"inputs": {"clicks": "int", "app": "int", "hour": "float"}, "required": [],
                             "features": COLUMNS}
    assert [s["type"] for s in got.preprocess["steps"]] == ["log"]
    assert got.aliases == ()
    # The latest by default; a second model is numbered on its own.
    assert reg.get("ctr").version == 3
    assert reg.register("other", bundle_dirs[0]).version == 1
    assert [(m.name, m.latest_version) for m in reg.models()] == [("ctr", 3), ("other", 1)]
    assert _count(store, model_versions) == 4


def test_artifact_is_copied_and_outlives_the_original(
    reg: Registry, store: Store, bundle_dirs: list[Path], tmp_path: Path
) -> None:
    src = Path(shutil.copytree(bundle_dirs[0], tmp_path / "bundle"))
    mv = reg.register("ctr", src)
    root = Path(store.settings.artifacts_url) / "models" / "default" / "ctr"
    art = _artifact_dir(mv)
    assert art.parent == root and art.is_dir()
    # The bundle's files, and the manifest of their hashes that a release checks them against.
    assert sorted(p.name for p in art.iterdir()) == sorted([*(p.name for p in src.iterdir()), MANIFEST])
    expected = reg.load(mv).predict_frame(frame(rows=20, seed=3))
    shutil.rmtree(src)
    again = reg.load(reg.get("ctr", version=1))
    np.testing.assert_allclose(again.predict_frame(frame(rows=20, seed=3)), expected)
    # Each version gets a directory of its own.
    mv2 = reg.register("ctr", bundle_dirs[1])
    assert _artifact_dir(mv2) != art and _artifact_dir(mv2).parent == root


def test_invalid_bundle_dir_is_refused_and_nothing_recorded(reg: Registry, store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "not-a-bundle"
    empty.mkdir()
    (empty / "model.ubj").write_bytes(b"junk")
    with pytest.raises(RegistryInputError) as e:
        reg.register("ctr", empty)
    assert str(empty) in str(e.value) and "ctr" in str(e.value)
    with pytest.raises(RegistryInputError, match="missing"):
        reg.register("ctr", tmp_path / "does-not-exist")
    assert _count(store, models) == 0 and _count(store, model_versions) == 0
    assert not (Path(store.settings.artifacts_url) / "models").exists()
    assert reg.models() == []
    with pytest.raises(ModelNotFound, match="ctr"):
        reg.versions("ctr")


def test_invalid_model_name_is_refused(reg: Registry, store: Store, bundle_dirs: list[Path]) -> None:
    for name in ("", "-lead", "has space", "a/b", "x" * 129, "é"):
        with pytest.raises(RegistryInputError, match="model name"):
            reg.register(name, bundle_dirs[0])
    assert _count(store, models) == 0
    assert reg.register("Ok_name-1.2", bundle_dirs[0]).version == 1


def test_projects_are_isolated(store: Store, bundle_dirs: list[Path]) -> None:
    a, b = Registry(store, "alpha"), Registry(store, "beta")
    a.register("ctr", bundle_dirs[0])
    a.register("ctr", bundle_dirs[1])
    b.register("ctr", bundle_dirs[2])
    assert [v.version for v in a.versions("ctr")] == [1, 2]
    assert [v.version for v in b.versions("ctr")] == [1]
    assert b.get("ctr").params["num_boost_round"] == 7
    assert "/models/alpha/ctr/" in a.get("ctr").artifact_uri and "/models/beta/ctr/" in b.get("ctr").artifact_uri
    a.release("ctr", 2)
    assert a.alias_version("ctr") == 2 and b.alias_version("ctr") is None
    assert b.history("ctr") == []
    with pytest.raises(ModelNotFound, match="default"):
        Registry(store).get("ctr")


def test_get_errors_name_what_is_missing(reg: Registry, bundle_dirs: list[Path]) -> None:
    reg.register("ctr", bundle_dirs[0])
    with pytest.raises(NotFound, match="version 9"):
        reg.get("ctr", version=9)
    with pytest.raises(NotFound, match="staging"):
        reg.get("ctr", alias="staging")
    with pytest.raises(ModelNotFound, match="nope"):
        reg.get("nope")


# -- with a feature set -----------------------------------------------------------------------------


def test_feature_set_signature_is_the_request_row(
    reg: Registry, store: Store, td_feature_set: FeatureSetInfo, fs_bundles: dict[str, Path]
) -> None:
    inputs = ["ip_clicks_1h", "hour_of_click", "app"]
    mv = reg.register("fraud", fs_bundles["good"], feature_set="td")
    assert mv.feature_set == "td" and mv.feature_set_version == 1
    query = td_feature_set.query()
    assert list(mv.signature["inputs"]) == list(query.main_columns)
    assert mv.signature["inputs"] == {"ip": "int", "click_time": "timestamp", "app": "int", "os": "int",
                                      "device": "int", "channel": "int", "is_attributed": "int"}
    # keys of every window and the time column: what /predict cannot do without
    assert mv.signature["required"] == ["app", "click_time", "ip", "os"]
    assert mv.signature["features"] == inputs
    assert "feature_set_version" not in mv.signature

    # A newer deployment becomes the default; an explicit version is kept.
    info2, new = deploy(store, "td", TALKINGDATA_SQL.read_text() + "\n-- v2\n")
    assert new and info2.version == 2
    assert reg.register("fraud", fs_bundles["good"], feature_set="td").feature_set_version == 2
    mv = reg.register("fraud", fs_bundles["good"], feature_set="td", feature_set_version=1)
    assert (mv.version, mv.feature_set_version) == (3, 1)


def test_inputs_outside_the_feature_set_are_refused(
    reg: Registry, store: Store, td_feature_set: FeatureSetInfo, fs_bundles: dict[str, Path]
) -> None:
    bundle = fs_bundles["bad"]
    with pytest.raises(RegistryInputError) as e:
        reg.register("fraud", bundle, feature_set="td")
    msg = str(e.value)
    assert "clicks_last_week" in msg and "mystery" in msg and "td v1" in msg
    assert "'ip_clicks_1h'" not in msg.split("(it computes")[0]
    assert _count(store, models) == 0 and _count(store, model_versions) == 0
    assert not (Path(store.settings.artifacts_url) / "models").exists()
    with pytest.raises(NotFound, match="no feature set"):
        reg.register("fraud", bundle, feature_set="absent")
    assert _count(store, model_versions) == 0


# -- release ----------------------------------------------------------------------------------------


def _three(reg: Registry, bundle_dirs: list[Path], model: str = "ctr") -> None:
    for d in bundle_dirs:
        reg.register(model, d)


def test_release_moves_the_alias_and_appends_history(reg: Registry, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    assert reg.alias_version("ctr") is None
    r1 = reg.release("ctr", 1)
    assert (r1.action, r1.alias, r1.from_version, r1.to_version) == ("release", "production", None, 1)
    r2 = reg.release("ctr", 2)
    assert (r2.from_version, r2.to_version) == (1, 2)
    assert reg.alias_version("ctr") == 2
    rs = reg.release("ctr", 3, alias="staging")
    assert (rs.alias, rs.from_version, rs.to_version) == ("staging", None, 3)
    assert reg.alias_version("ctr", "staging") == 3 and reg.alias_version("ctr") == 2
    assert reg.alias_version("nope") is None

    hist = reg.history("ctr")
    assert [(h.alias, h.action, h.from_version, h.to_version) for h in hist] == [
        ("production", "release", None, 1), ("production", "release", 1, 2), ("staging", "release", None, 3)]
    assert [h.to_version for h in reg.history("ctr", "production")] == [1, 2]
    assert reg.get("ctr", alias="production").version == 2
    assert reg.get("ctr", version=2).aliases == ("production",)
    assert {v.version: v.aliases for v in reg.versions("ctr")} == {1: (), 2: ("production",), 3: ("staging",)}
    assert reg.models()[0].aliases == {"production": 2, "staging": 3}


def test_release_of_a_corrupted_artifact_is_refused(reg: Registry, store: Store, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    reg.register("ctr", bundle_dirs[0])  # v4
    reg.release("ctr", 1)
    corruptions = {
        2: lambda art: (art / "model.ubj").write_bytes(b"\x00garbage" * 50),
        3: lambda art: (art / "bundle.json").unlink(),
        4: lambda art: (art / "bundle.json").write_text("{not json"),
    }
    for version, corrupt in corruptions.items():
        corrupt(_artifact_dir(reg.get("ctr", version=version)))
        with pytest.raises(ReleaseRefused) as e:
            reg.release("ctr", version)
        assert f"version {version}" in str(e.value) and "production still points" in str(e.value)
        assert reg.alias_version("ctr") == 1
    assert len(reg.history("ctr")) == 1 and _count(store, model_releases) == 1


def test_release_of_a_missing_version_or_model(reg: Registry, store: Store, bundle_dirs: list[Path]) -> None:
    reg.register("ctr", bundle_dirs[0])
    for bad in (2, 0, -1):
        with pytest.raises(NotFound):
            reg.release("ctr", bad)
    with pytest.raises(ModelNotFound, match="ghost"):
        reg.release("ghost", 1)
    with pytest.raises(RegistryInputError, match="alias name"):
        reg.release("ctr", 1, alias="bad alias")
    assert reg.alias_version("ctr") is None and _count(store, model_releases) == 0


# -- rollback ---------------------------------------------------------------------------------------


def test_rollback_walks_back_the_release_stack(reg: Registry, store: Store, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    for v in (1, 2, 3):
        reg.release("ctr", v)
    assert reg.positions("ctr", "production") == [1, 2, 3]
    r = reg.rollback("ctr")
    assert (r.action, r.from_version, r.to_version) == ("rollback", 3, 2)
    assert reg.alias_version("ctr") == 2 and reg.positions("ctr", "production") == [1, 2]
    r = reg.rollback("ctr")
    assert (r.from_version, r.to_version) == (2, 1) and reg.alias_version("ctr") == 1
    with pytest.raises(RegistryInputError, match="no earlier release"):
        reg.rollback("ctr")
    assert reg.alias_version("ctr") == 1
    assert [(h.action, h.to_version) for h in reg.history("ctr")] == [
        ("release", 1), ("release", 2), ("release", 3), ("rollback", 2), ("rollback", 1)]
    assert _count(store, model_releases) == 5


def test_release_after_rollback_then_rollback_returns_before_it(reg: Registry, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    reg.register("ctr", bundle_dirs[0])  # v4
    for v in (1, 2, 3):
        reg.release("ctr", v)
    reg.rollback("ctr")  # 3 -> 2, the stack is [1, 2]
    reg.release("ctr", 4)  # pushes: [1, 2, 4]; v3 is gone from the stack
    assert reg.positions("ctr", "production") == [1, 2, 4]
    assert reg.rollback("ctr").to_version == 2
    assert reg.rollback("ctr").to_version == 1
    with pytest.raises(RegistryInputError):
        reg.rollback("ctr")


def test_rollback_to_an_explicit_version(reg: Registry, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    for v in (1, 2, 3):
        reg.release("ctr", v)
    r = reg.rollback("ctr", to=1)
    assert (r.from_version, r.to_version) == (3, 1)
    assert reg.positions("ctr", "production") == [1]  # back to the bottom: nothing earlier
    with pytest.raises(RegistryInputError):
        reg.rollback("ctr")
    # --to a version never released pushes it like a release would
    r = reg.rollback("ctr", to=3)
    assert (r.from_version, r.to_version) == (1, 3) and reg.positions("ctr", "production") == [1, 3]
    assert reg.rollback("ctr").to_version == 1
    with pytest.raises(NotFound, match="version 7"):
        reg.rollback("ctr", to=7)
    assert reg.alias_version("ctr") == 1


def test_rollback_refuses_a_target_that_does_not_load(reg: Registry, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs[:2])
    reg.release("ctr", 1)
    reg.release("ctr", 2)
    (_artifact_dir(reg.get("ctr", version=1)) / "model.ubj").write_bytes(b"nope")
    with pytest.raises(ReleaseRefused, match="cannot be rolled back to"):
        reg.rollback("ctr")
    assert reg.alias_version("ctr") == 2 and len(reg.history("ctr")) == 2


def test_rollback_without_any_release(reg: Registry, bundle_dirs: list[Path]) -> None:
    reg.register("ctr", bundle_dirs[0])
    with pytest.raises(RegistryInputError, match="production has no earlier release"):
        reg.rollback("ctr")
    with pytest.raises(ModelNotFound):
        reg.rollback("ghost")


# -- concurrency ------------------------------------------------------------------------------------


def test_concurrent_registrations_get_distinct_versions(store: Store, bundle_dirs: list[Path]) -> None:
    n_threads, per_thread = 4, 2
    barrier = threading.Barrier(n_threads)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        reg = Registry(store, "race")
        try:
            barrier.wait()
            for _ in range(per_thread):
                v = reg.register("ctr", bundle_dirs[i % 3]).version
                with lock:
                    results.append(v)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == list(range(1, n_threads * per_thread + 1))
    reg = Registry(store, "race")
    assert [v.version for v in reg.versions("ctr")] == sorted(results)
    assert len({v.artifact_uri for v in reg.versions("ctr")}) == len(results)
    assert len(reg.models()) == 1


def test_metrics_become_plain_json_values(reg: Registry, bundle_dirs: list[Path]) -> None:
    """numpy ints stay ints, bools bools; NaN/inf (e.g. r2 of one validation row) become null on both backends."""
    metrics = {"n": np.int64(600), "ok": np.bool_(True), "curve": [np.float32(0.5), 1],
               "nested": {"k": np.float64(2.5)}, "ts": pd.Timestamp("2024-01-01"),
               "r2": float("nan"), "ratio": np.float64(np.inf), "f32nan": np.float32("nan")}
    got = reg.register("ctr", bundle_dirs[0], metrics=metrics).metrics
    assert got == {"n": 600, "ok": True, "curve": [0.5, 1], "nested": {"k": 2.5}, "ts": "2024-01-01 00:00:00",
                   "r2": None, "ratio": None, "f32nan": None}
    assert type(got["n"]) is int and type(got["ok"]) is bool


def test_releasing_the_current_version_changes_nothing(reg: Registry, bundle_dirs: list[Path]) -> None:
    _three(reg, bundle_dirs)
    reg.release("ctr", 1)
    reg.release("ctr", 2)
    again = reg.release("ctr", 2)
    assert (again.from_version, again.to_version) == (2, 2)
    assert [r.to_version for r in reg.history("ctr")] == [1, 2]  # no second row for v2
    assert reg.rollback("ctr").to_version == 1  # so one rollback goes back to v1, not to v2 again


def test_artifacts_go_through_fsspec(store: Store, bundle_dirs: list[Path]) -> None:
    """A non-local artifact store (fsspec's in-memory filesystem): copied there, downloaded to load."""
    import fsspec

    settings = store.settings.model_copy(update={"artifacts": f"memory://shoal-{uuid.uuid4().hex[:8]}"})
    reg = Registry(Store(engine=store.engine, settings=settings))
    mv = reg.register("remote", bundle_dirs[0])
    assert mv.artifact_uri.startswith(settings.artifacts + "/models/default/remote/")
    fs = fsspec.filesystem("memory")
    assert any(p.endswith("bundle.json") for p in fs.find(mv.artifact_uri.removeprefix("memory://")))
    expected = ModelBundle.load(bundle_dirs[0]).predict_rows([{"clicks": 20, "app": 3, "hour": 2.0}])
    reg.release("remote", mv.version)  # loads it: a local copy lands in the cache under SHOAL_HOME
    assert list((settings.home_dir / "cache" / "models").iterdir())
    assert reg.load(mv).predict_rows([{"clicks": 20, "app": 3, "hour": 2.0}]).tolist() == expected.tolist()


def test_a_retried_release_task_does_not_register_twice(reg: Registry, bundle_dirs: list[Path]) -> None:
    """A release task's attempt died after registering; its retry (same task run) gets that version."""
    first = reg.register("ctr", bundle_dirs[0], run_id=7, task_run_id=70)
    again = reg.register("ctr", bundle_dirs[0], run_id=7, task_run_id=70)
    assert again.version == first.version and [v.version for v in reg.versions("ctr")] == [1]
    # Another task run, or the same task run with other files (a rerun retrained): a new version.
    assert reg.register("ctr", bundle_dirs[0], run_id=8, task_run_id=80).version == 2
    assert reg.register("ctr", bundle_dirs[1], run_id=7, task_run_id=70).version == 3
    assert reg.register("ctr", bundle_dirs[0]).version == 4  # no task run: always a new version
