"""The ML library the ML task types wrap; usable on its own, without the scheduler.

    data        load_samples, split, write_split
    preprocess  Pipeline (JSON steps, fitted state, transform / transform_row)
    train       train(algorithm, X, y, ...) -> TrainResult
    flavors     model classes per library + load_model
    metrics     evaluate
    bundle      ModelBundle, build_bundle: what a model version's artifact holds
"""

import importlib
from typing import Any

# Names are imported on first use: `import shoal.ml.errors` (the CLI, the registry) must not pull
# in pandas, scikit-learn and xgboost, which take seconds to import. `train` is not re-exported:
# it would clash with the submodule `shoal.ml.train`; use `from shoal.ml.train import train`.
_WHERE = {
    "ModelBundle": "bundle", "build_bundle": "bundle",
    "load_samples": "data", "split": "data", "write_split": "data", "write_frame": "data",
    "MLError": "errors",
    "LightGBMModel": "flavors", "Model": "flavors", "SklearnModel": "flavors", "Word2VecModel": "flavors",
    "XGBoostModel": "flavors", "load_model": "flavors",
    "evaluate": "metrics",
    "Pipeline": "preprocess",
    "ALGORITHMS": "train", "TrainResult": "train",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shoal.ml' has no attribute {name!r}")
    return getattr(importlib.import_module(f"shoal.ml.{_WHERE[name]}"), name)


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
    "write_frame",
    "write_split",
]
