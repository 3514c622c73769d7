"""`shoal.services.models`: who may read and change models, and a release that loads no ML library."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shoal.config import Settings
from shoal.errors import Forbidden
from shoal.registry import DEFAULT_ALIAS, Registry
from shoal.registry.artifacts import MANIFEST
from shoal.registry.errors import ReleaseRefused
from shoal.services import models as model_service
from shoal.services.names import Actor, Role
from shoal.store import Store

VIEWER = Actor("vera", {"default": Role.VIEWER})
STRANGER = Actor("sam", {"other": Role.ADMIN})


def test_a_viewer_reads_models_but_cannot_move_an_alias(store: Store, bundle_dirs: list[Path]) -> None:
    model_service.register(store, "ctr", bundle_dirs[0])
    model_service.register(store, "ctr", bundle_dirs[1])
    model_service.release(store, "ctr", 1)
    assert [m.name for m in model_service.list_models(store, actor=VIEWER)] == ["ctr"]
    assert [v.version for v in model_service.list_versions(store, "ctr", actor=VIEWER)] == [1, 2]
    detail = model_service.get_version(store, "ctr", alias=DEFAULT_ALIAS, actor=VIEWER)
    assert detail.version.version == 1 and [h.to_version for h in detail.history] == [1]
    assert detail.to_json()["history"][0]["to_version"] == 1
    for change in (
        lambda: model_service.release(store, "ctr", 2, actor=VIEWER),
        lambda: model_service.rollback(store, "ctr", to=2, actor=VIEWER),
        lambda: model_service.register(store, "ctr", bundle_dirs[2], actor=VIEWER),
    ):
        with pytest.raises(Forbidden, match="editor role"):
            change()
    with pytest.raises(Forbidden, match="has no role"):
        model_service.list_models(store, actor=STRANGER)
    assert Registry(store).alias_version("ctr") == 1 and len(Registry(store).versions("ctr")) == 2


@pytest.mark.slow
def test_release_checks_the_artifact_without_loading_ml_libraries(tmp_path: Path, bundle_dirs: list[Path]) -> None:
    """Moving an alias hashes the version's files against its manifest: no xgboost, scikit-learn
    or pandas import (seconds), in a fresh process as `shoal model release` runs."""
    settings = Settings(home=tmp_path / "home")
    from shoal.store import open_store

    reg = Registry(open_store(settings))
    reg.register("ctr", bundle_dirs[0])
    reg.register("ctr", bundle_dirs[1])
    script = textwrap.dedent(f"""
        import json, sys
        from shoal.config import Settings
        from shoal.services import models
        from shoal.store import open_store
        r = models.release(open_store(Settings(home={str(settings.home)!r})), "ctr", 2)
        heavy = sorted(m for m in ("xgboost", "sklearn", "pandas", "lightgbm", "scipy") if m in sys.modules)
        print(json.dumps({{"to": r.to_version, "heavy": heavy}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"to": 2, "heavy": []}
    assert reg.alias_version("ctr") == 2


def test_an_artifact_without_a_manifest_is_checked_by_loading_it(reg: Registry, bundle_dirs: list[Path]) -> None:
    """Versions registered before manifests existed: released if the model loads, refused if not."""
    good = reg.register("ctr", bundle_dirs[0])
    bad = reg.register("ctr", bundle_dirs[1])
    for mv in (good, bad):
        (Path(mv.artifact_uri) / MANIFEST).unlink()
    (Path(bad.artifact_uri) / "model.ubj").write_bytes(b"\x00garbage" * 50)
    assert reg.release("ctr", good.version).to_version == good.version
    with pytest.raises(ReleaseRefused, match="does not load"):
        reg.release("ctr", bad.version)
    assert reg.alias_version("ctr") == good.version


def test_a_damaged_artifact_is_refused_naming_the_files(reg: Registry, bundle_dirs: list[Path]) -> None:
    mv = reg.register("ctr", bundle_dirs[0])
    art = Path(mv.artifact_uri)
    (art / "flavor.json").unlink()
    (art / "model.ubj").write_bytes((art / "model.ubj").read_bytes() + b"\x00")
    with pytest.raises(ReleaseRefused) as e:
        reg.release("ctr", mv.version)
    assert "flavor.json missing" in str(e.value) and "model.ubj changed" in str(e.value)
    (art / MANIFEST).write_text("{not json")
    with pytest.raises(ReleaseRefused, match="manifest .* is unreadable"):
        reg.release("ctr", mv.version)
    assert reg.alias_version("ctr") is None


def test_the_cli_alias_default_is_the_registry_s() -> None:
    from shoal.cli import model as model_cli

    assert model_cli.DEFAULT_ALIAS == DEFAULT_ALIAS
