"""Callables for examples/hello_ml.yaml: a python task returns a dict of outputs."""

from __future__ import annotations

import random


def train(rows: int = 42, seed: int = 7) -> dict[str, float | int]:
    """Pretend to train: an AUC that grows with the number of rows."""
    rng = random.Random(seed)
    auc = min(0.99, 0.6 + rows / 200 + rng.random() * 0.05)
    print(f"trained on {rows} rows, auc={auc:.3f}")
    return {"auc": round(auc, 4), "rows": rows}
