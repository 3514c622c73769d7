"""Fixtures for registry tests: a Registry on each backend, small real bundles, a deployed feature set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from examples.talkingdata.make_data import make
from shoal.features.catalog import FeatureSetInfo, deploy, import_table
from shoal.ml.bundle import build_bundle
from shoal.ml.preprocess import Pipeline
from shoal.ml.train import train
from shoal.registry import Registry
from shoal.store import Store
from tests.features.conftest import TALKINGDATA_SQL
from tests.serving.conftest import save_bundle

# A small evaluation report of the shape `shoal.ml.evaluation.report` writes.
REPORT = {
    "format": 1, "objective": "binary", "rows": 4, "positives": 2, "threshold": 0.5, "auc": 1.0,
    "average_precision": 1.0, "roc": {"fpr": [0.0, 0.0, 1.0], "tpr": [0.0, 1.0, 1.0]},
    "pr": {"recall": [0.0, 1.0], "precision": [1.0, 1.0]}, "confusion": {"tn": 2, "fp": 0, "fn": 0, "tp": 2},
    "importance": {"kind": "gain", "features": [{"feature": "clicks", "value": 3.5}, {"feature": "app", "value": 1}]},
}


@pytest.fixture
def reg(store: Store) -> Registry:
    return Registry(store)


@pytest.fixture(scope="session")
def bundle_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three saved bundles (different seeds/trees), shared read-only: registering copies them."""
    root = tmp_path_factory.mktemp("bundles")
    return [save_bundle(root / f"b{i}", trees=5 + i, seed=i) for i in range(3)]


def save_columns_bundle(directory: Path, columns: list[str], seed: int = 0) -> Path:
    """A small xgboost bundle whose inputs are `columns` (no preprocessing steps)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({c: rng.integers(0, 20, 300).astype(np.int64) for c in columns})
    df["label"] = (df[columns[0]] + rng.integers(0, 5, 300) > 12).astype(np.int64)
    pipeline = Pipeline([], columns).fit(df)
    result = train("xgboost", pipeline.transform(df), df["label"].to_numpy(float),
                   params={"num_boost_round": 3, "max_depth": 2}, seed=seed,
                   feature_names=pipeline.output_columns)
    build_bundle(result, algorithm="xgboost", label="label", frame=df, pipeline=pipeline).save(directory)
    return directory


@pytest.fixture(scope="session")
def talkingdata_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("td") / "talkingdata.csv"
    make(str(path), rows=300)
    return path


@pytest.fixture
def td_feature_set(store: Store, talkingdata_small: Path) -> FeatureSetInfo:
    """Feature set `td` (the TalkingData SQL) deployed as version 1 in the default project."""
    import_table(store, "talkingdata", path=talkingdata_small)
    info, new = deploy(store, "td", TALKINGDATA_SQL.read_text())
    assert new and info.version == 1
    return info


@pytest.fixture(scope="session")
def fs_bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bundles for feature set `td`: "good" uses only its features, "bad" also two it lacks."""
    root = tmp_path_factory.mktemp("fs-bundles")
    return {
        "good": save_columns_bundle(root / "good", ["ip_clicks_1h", "hour_of_click", "app"]),
        "bad": save_columns_bundle(root / "bad", ["ip_clicks_1h", "clicks_last_week", "mystery"]),
    }
