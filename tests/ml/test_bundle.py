"""A bundle saves and loads whole, its two predict paths agree, and a broken artifact fails clearly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shoal.ml.bundle import ModelBundle, build_bundle
from shoal.ml.data import split
from shoal.ml.errors import MLError
from shoal.ml.metrics import evaluate
from shoal.ml.preprocess import Pipeline
from shoal.ml.train import train

STEPS = [
    {"type": "fill_missing", "columns": ["amount"], "strategy": "median"},
    {"type": "log", "columns": ["amount"]},
    {"type": "standard_scale", "columns": ["amount", "age"]},
    {"type": "one_hot", "columns": ["channel"], "max_categories": 3},
    {"type": "hash", "columns": ["device"], "n_buckets": 64},
]
INPUTS = ["amount", "age", "channel", "device", "vip"]


def samples(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    channel = rng.choice(["web", "app", "ads", "mail"], n)
    amount = rng.lognormal(3, 1, n)
    vip = rng.random(n) < 0.3
    logit = 1.2 * np.log1p(amount) - 4 + 2.0 * (channel == "ads") + 1.5 * vip
    frame = pd.DataFrame({
        "amount": np.where(rng.random(n) < 0.1, np.nan, amount),
        "age": rng.integers(18, 80, n),
        "channel": pd.Series(channel).where(rng.random(n) > 0.05, None),
        "device": rng.choice([f"d{i}" for i in range(50)], n),
        "vip": vip,
        "ts": pd.date_range("2024-01-01", periods=n, freq="min"),
    })
    frame["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="module")
def trained():
    parts = split(samples(), fractions=(0.7, 0.15, 0.15))
    pipe = Pipeline(STEPS, INPUTS).fit(parts["train"])
    result = train("xgboost", pipe.transform(parts["train"]), parts["train"]["label"],
                   X_valid=pipe.transform(parts["validation"]), y_valid=parts["validation"]["label"],
                   params={"max_depth": 3, "num_boost_round": 80, "nthread": 1}, early_stopping_rounds=10,
                   feature_names=pipe.output_columns)
    bundle = build_bundle(result, algorithm="xgboost", label="label", frame=parts["train"], pipeline=pipe)
    return bundle, parts


def test_meta_describes_inputs_and_features(trained):
    bundle, _ = trained
    meta = bundle.meta
    assert meta["flavor"] == "xgboost" and meta["objective"] == "binary" and meta["algorithm"] == "xgboost"
    assert meta["inputs"] == INPUTS and meta["label"] == "label"
    assert meta["features"][:2] == ["amount", "age"] and "channel=ads" in meta["features"]
    assert meta["input_kinds"] == {"amount": "float", "age": "int", "channel": "str", "device": "str",
                                   "vip": "bool"}
    assert meta["best_iteration"] is not None and meta["params"]["max_depth"] == 3


def test_predict_rows_equals_predict_frame_and_learns(trained):
    bundle, parts = trained
    test = parts["test"]
    from_frame = bundle.predict_frame(test)
    rows = test[INPUTS].to_dict("records")
    np.testing.assert_array_equal(bundle.predict_rows(rows), from_frame)
    assert evaluate(test["label"], from_frame)["auc"] > 0.7
    # a request row with a key left out and an unseen category still scores
    assert bundle.predict_rows([{"amount": 10.0, "age": 30, "channel": "tv"}]).shape == (1,)


def test_save_load_round_trip(trained, tmp_path):
    bundle, parts = trained
    bundle.save(tmp_path / "v1")
    doc = json.loads((tmp_path / "v1" / "bundle.json").read_text())
    assert doc["preprocess"]["outputs"] == bundle.meta["features"]
    loaded = ModelBundle.load(tmp_path / "v1")
    assert loaded.meta == bundle.meta
    np.testing.assert_array_equal(loaded.predict_frame(parts["test"]), bundle.predict_frame(parts["test"]))


@pytest.mark.parametrize("algorithm", ["lightgbm", "lr", "gbdt", "mlp"])
def test_each_flavor_round_trips_in_a_bundle(algorithm, tmp_path):
    frame = samples(600)
    steps = [*STEPS, {"type": "fill_missing", "columns": ["amount"], "strategy": "constant", "value": 0}]
    pipe = Pipeline(steps, INPUTS).fit(frame)
    X = pipe.transform(frame)
    params = {"mlp": {"hidden_layer_sizes": [8], "max_iter": 30}, "gbdt": {"max_iter": 20},
              "lightgbm": {"num_boost_round": 20}}
    rounds = 3 if algorithm == "mlp" else None  # epoch-wise training: no max_iter ConvergenceWarning
    result = train(algorithm, X, frame["label"], X_valid=X[:100], y_valid=frame["label"][:100],
                   params=params.get(algorithm), early_stopping_rounds=rounds)
    bundle = build_bundle(result, algorithm=algorithm, label="label", frame=frame, pipeline=pipe)
    bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)
    rows = frame[INPUTS].head(50).to_dict("records")
    np.testing.assert_allclose(loaded.predict_rows(rows), bundle.predict_frame(frame.head(50)), rtol=1e-12)


def test_bundle_without_pipeline(tmp_path):
    frame = pd.DataFrame({"a": np.arange(200.0), "b": np.tile([0.0, 1.0], 100)})
    frame["label"] = (frame["a"] > 100).astype(int)
    result = train("lr", frame[["a", "b"]], frame["label"])
    bundle = build_bundle(result, algorithm="lr", label="label", frame=frame, inputs=["a", "b"])
    bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)
    assert loaded.pipeline is None
    np.testing.assert_array_equal(loaded.predict_rows(frame[["a", "b"]].to_dict("records")),
                                  loaded.predict_frame(frame))


def test_word2vec_bundle(tmp_path):
    frame = pd.DataFrame({"tokens": ["a b c", "b c d", "x y z", "y z x"] * 20})
    result = train("word2vec", frame["tokens"], None, params={"vector_size": 8, "min_count": 1})
    bundle = build_bundle(result, algorithm="word2vec", label=None, frame=frame, inputs=["tokens"])
    bundle.save(tmp_path)
    loaded = ModelBundle.load(tmp_path)
    np.testing.assert_array_equal(loaded.predict_rows([{"tokens": "a b"}]), loaded.predict_frame(frame.head(1).assign(
        tokens=["a b"])))


def test_broken_artifacts_fail_with_mlerror(trained, tmp_path):
    bundle, _ = trained
    with pytest.raises(MLError, match="bundle.json is missing"):
        ModelBundle.load(tmp_path / "nothing")
    bundle.save(tmp_path / "v")
    (tmp_path / "v" / "model.ubj").write_bytes(b"not a model")
    with pytest.raises(MLError, match="cannot load"):
        ModelBundle.load(tmp_path / "v")
    (tmp_path / "v" / "model.ubj").unlink()
    with pytest.raises(MLError, match="model.ubj is missing"):
        ModelBundle.load(tmp_path / "v")
    (tmp_path / "v" / "bundle.json").write_text("{not json")
    with pytest.raises(MLError, match="unreadable"):
        ModelBundle.load(tmp_path / "v")


def test_predict_frame_names_missing_inputs(trained):
    bundle, parts = trained
    with pytest.raises(MLError, match=r"\['vip'\]"):
        bundle.predict_frame(parts["test"].drop(columns=["vip"]))
