"""A version's evaluation report in the registry (SQLite and PostgreSQL): stored as a file of the
version's artifact, read back as it was given, refused (nothing registered) when it is not a
report, and invisible to the artifact checks (release, a retried registration)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shoal.errors import NotFound
from shoal.registry import Registry
from shoal.registry.artifacts import EVALUATION, MANIFEST
from shoal.registry.errors import RegistryInputError
from shoal.registry.evaluation import MAX_BYTES, read_evaluation
from shoal.services import models
from shoal.store import Store
from shoal.store.models import model_versions
from tests.registry.conftest import REPORT


def test_a_version_keeps_its_evaluation_beside_its_files(reg: Registry, bundle_dirs: list[Path]) -> None:
    mv = reg.register("ctr", bundle_dirs[0], evaluation=REPORT)
    assert reg.evaluation("ctr", mv.version) == REPORT
    artifact = Path(mv.artifact_uri)
    assert json.loads((artifact / EVALUATION).read_text()) == REPORT
    assert EVALUATION not in json.loads((artifact / MANIFEST).read_text())["sha256"]  # the registry's file
    plain = reg.register("ctr", bundle_dirs[1])
    assert reg.evaluation("ctr", plain.version) is None
    reg.release("ctr", mv.version)  # the artifact check ignores the report: still intact
    with pytest.raises(NotFound, match="version 9"):
        reg.evaluation("ctr", 9)


def test_the_service_says_how_to_store_an_evaluation(store: Store, bundle_dirs: list[Path]) -> None:
    models.register(store, "ctr", bundle_dirs[0])
    with pytest.raises(NotFound, match=r"has no evaluation: register it with evaluation: '\$\{evaluate.evaluation\}'"):
        models.get_evaluation(store, "ctr", 1)
    models.register(store, "ctr", bundle_dirs[1], evaluation=REPORT)
    assert models.get_evaluation(store, "ctr", 2)["confusion"]["tp"] == 2


def test_a_bad_report_is_refused_and_nothing_is_registered(reg: Registry, store: Store,
                                                           bundle_dirs: list[Path]) -> None:
    for bad, words in [({**REPORT, "roc": {"fpr": [0, 1]}}, "evaluation.roc must have exactly fpr, tpr"),
                       ({**REPORT, "colour": "red"}, "unknown keys colour"), ("auc=0.9", "must be a JSON object")]:
        with pytest.raises(RegistryInputError, match=words):
            reg.register("ctr", bundle_dirs[0], evaluation=bad)  # type: ignore[arg-type]
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(model_versions)).scalar() == 0


def test_a_retried_registration_with_a_report_finds_its_version(reg: Registry, bundle_dirs: list[Path]) -> None:
    first = reg.register("ctr", bundle_dirs[0], task_run_id=70, evaluation=REPORT)
    again = reg.register("ctr", bundle_dirs[0], task_run_id=70, evaluation=REPORT)
    assert again.version == first.version and len(reg.versions("ctr")) == 1


def test_a_report_file_is_checked_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps(REPORT))
    assert read_evaluation(path) == REPORT
    with pytest.raises(RegistryInputError, match="does not exist"):
        read_evaluation(tmp_path / "nope.json")
    path.write_text("{not json")
    with pytest.raises(RegistryInputError, match="is not JSON"):
        read_evaluation(path)
    path.write_text(" " * (MAX_BYTES + 1))
    with pytest.raises(RegistryInputError, match=f"at most {MAX_BYTES}"):
        read_evaluation(path)


def test_a_report_goes_through_fsspec_too(store: Store, bundle_dirs: list[Path]) -> None:
    settings = store.settings.model_copy(update={"artifacts": f"memory://shoal-{uuid.uuid4().hex[:8]}"})
    reg = Registry(Store(engine=store.engine, settings=settings))
    mv = reg.register("remote", bundle_dirs[0], evaluation=REPORT)
    assert reg.evaluation("remote", mv.version) == REPORT
