"""The ML library the ML task types wrap; usable on its own, without the scheduler.

    data        load_samples, split, write_split
    preprocess  Pipeline (JSON steps, fitted state, transform / transform_row)
    train       train(algorithm, X, y, ...) -> TrainResult
    flavors     model classes per library + load_model
    metrics     evaluate
    bundle      ModelBundle, build_bundle: what a model version's artifact holds
"""

from shoal.ml.bundle import ModelBundle, build_bundle
from shoal.ml.data import load_samples, split, write_split
from shoal.ml.errors import MLError
from shoal.ml.flavors import (
    LightGBMModel,
    Model,
    SklearnModel,
    Word2VecModel,
    XGBoostModel,
    load_model,
)
from shoal.ml.metrics import evaluate
from shoal.ml.preprocess import Pipeline
from shoal.ml.train import ALGORITHMS, TrainResult, train

__all__ = [
    "ALGORITHMS",
    "LightGBMModel",
    "MLError",
    "Model",
    "ModelBundle",
    "Pipeline",
    "SklearnModel",
    "TrainResult",
    "Word2VecModel",
    "XGBoostModel",
    "build_bundle",
    "evaluate",
    "load_model",
    "load_samples",
    "split",
    "train",
    "write_split",
]
