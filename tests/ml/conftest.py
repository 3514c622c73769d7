"""Small synthetic data sets every ML test shares: learnable, fast to train on (2,000 rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    """OpenMP/BLAS threads on 2,000-row data cost more than they save (10x slower for
    HistGradientBoosting on a busy 2-core machine); one thread keeps these tests fast and steady."""
    with threadpool_limits(1):
        yield


def make_binary(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """5 features; the label depends on three of them (Bayes AUC around 0.9)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    logit = 2.5 * X[:, 0] - 2.0 * X[:, 1] + 1.0 * X[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    return X, y


def make_regression(n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + 0.5 * X[:, 2] + rng.normal(scale=0.3, size=n)
    return X, y


@pytest.fixture(scope="session")
def binary_data() -> dict[str, np.ndarray]:
    X, y = make_binary()
    return {"X": X[:1400], "y": y[:1400], "X_valid": X[1400:1700], "y_valid": y[1400:1700],
            "X_test": X[1700:], "y_test": y[1700:]}


@pytest.fixture(scope="session")
def regression_data() -> dict[str, np.ndarray]:
    X, y = make_regression()
    return {"X": X[:1400], "y": y[:1400], "X_valid": X[1400:1700], "y_valid": y[1400:1700],
            "X_test": X[1700:], "y_test": y[1700:]}


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """Raw samples with every column kind a pipeline meets: ints, floats with NaN, text with None, bools."""
    return pd.DataFrame({
        "age": [20, 30, 40, 50, 60, 70],
        "income": [1.0, np.nan, 3.0, 4.0, np.nan, 6.0],
        "city": ["a", "b", "a", None, "c", "a"],
        "active": [True, False, True, True, False, True],
        "label": [0, 1, 0, 1, 1, 0],
    })
