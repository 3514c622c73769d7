"""Small real models for registry and serving tests: trained in a second, saved as bundles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shoal.ml.bundle import build_bundle
from shoal.ml.preprocess import Pipeline
from shoal.ml.train import train
from tests.features.conftest import talkingdata_csv  # noqa: F401 - a fixture for the feature-set model

COLUMNS = ["clicks", "app", "hour"]


def frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A learnable binary problem: many clicks and app 3 mean an install."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "clicks": rng.integers(0, 50, rows).astype(np.int64),
        "app": rng.integers(0, 6, rows).astype(np.int64),
        "hour": rng.uniform(0, 24, rows),
    })
    logit = 0.1 * df["clicks"] - 3 + 2.0 * (df["app"] == 3)
    df["label"] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return df


def save_bundle(directory: Path, *, trees: int = 10, seed: int = 0, steps: list[dict] | None = None) -> Path:
    """Train a small xgboost model (with a log step on clicks by default) and save its bundle."""
    df = frame(seed=seed)
    pipeline = Pipeline(steps if steps is not None else [{"type": "log", "columns": ["clicks"]}], COLUMNS).fit(df)
    result = train("xgboost", pipeline.transform(df), df["label"].to_numpy(float),
                   params={"num_boost_round": trees, "max_depth": 3}, seed=seed,
                   feature_names=pipeline.output_columns)
    bundle = build_bundle(result, algorithm="xgboost", label="label", frame=df, pipeline=pipeline)
    bundle.save(directory)
    return directory
