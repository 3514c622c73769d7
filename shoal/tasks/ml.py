"""ML task types, thin wrappers over `shoal.ml` and `shoal.registry`.

    dataset -> preprocess -> train -> evaluate -> (switch on a metric) -> release
                                             \\-> batch_predict

Each task writes into its own folder under SHOAL_ARTIFACTS/runs/<project>/<workflow>/<run>/<task>
(or `output`) and returns paths and figures as outputs, read downstream as `${task.key}`:
`${dataset.train}`, `${train.model_dir}`, `${evaluate.auc}`. Fields that usually hold such a
reference are strings, because they are checked when the workflow is applied, before the
reference has a value.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from shoal.errors import ShoalError, TaskFailed
from shoal.ml.steps import StepConfig
from shoal.tasks._common import Isolation, number, resolve, run_store, task_dir
from shoal.tasks._common import version as parse_version
from shoal.tasks.base import TaskContext, TaskParams, TaskType, isolation_field, references_checked
from shoal.tasks.forms import written_in
from shoal.tasks.values.sql import check_sql_field, sql_with_values

Algorithm = Literal["xgboost", "lightgbm", "lr", "gbdt", "mlp", "word2vec"]
Objective = Literal["binary", "regression"]


def _output(what: str) -> Any:
    """The `output` field of a type that writes files into a folder (see `task_dir`)."""
    return Field(
        default=None,
        description=f"the folder to write {what} to; relative: under SHOAL_ARTIFACTS; empty: "
        "this task run's own folder, emptied before each attempt",
    )


def _path(value: str, ctx: TaskContext, what: str) -> Path:
    path = resolve(value, ctx)
    if not path.exists():
        raise TaskFailed(f"{what} {value} does not exist (looked in {ctx.source_dir or '.'})")
    return path


def _frame(path: str, ctx: TaskContext, what: str):  # type: ignore[no-untyped-def]
    from shoal.ml.data import load_samples

    return load_samples(path=str(_path(path, ctx, what)))


def _feature_samples(store: Any, name: str, version: int | None, ctx: TaskContext, target: Path,
                     main_file: str | None = None) -> tuple[Any, Any]:
    """A deployed feature set's offline output over its managed tables (or over `main_file` as its
    main table), in table order: the same tables give the same samples, so the same split and model."""
    from shoal.features import catalog
    from shoal.features.offline import extract

    info = catalog.get_feature_set(store, name, project=ctx.project, version=version)
    query = info.query()
    given = {query.main: main_file} if main_file else None
    return info, extract(query, catalog.table_sources(store, info, given), target, keep_order=True)


class _Columns(TaskParams):
    label: str | None = Field(
        default=None, description="the label column, the value to predict, e.g. is_attributed; never an input",
    )
    features: list[str] | None = Field(
        default=None,
        description="the input columns, e.g. [app, device, ip_clicks_1h]; empty: every column but label and "
        "exclude",
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="columns that are not inputs, such as ids and times, e.g. [click_id, click_time]",
    )

    def inputs(self, columns: list[str]) -> list[str]:
        if self.features is not None:
            missing = [c for c in self.features if c not in columns]
            if missing:
                raise TaskFailed(f"features {missing} are not columns of the samples ({', '.join(columns)})")
            return list(self.features)
        unknown = [c for c in self.exclude if c not in columns]
        if unknown:
            raise TaskFailed(f"exclude {unknown}: no such columns ({', '.join(columns)})")
        return [c for c in columns if c != self.label and c not in self.exclude]


class _MLTask(TaskType):
    """Runs `work`; a library or registry error (bad column, bad hyperparameter, a release refused)
    fails the task with its message, without a traceback."""

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        try:
            return self.work(ctx)
        except TaskFailed:
            raise
        except ShoalError as e:
            raise TaskFailed(str(e)) from None

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        raise NotImplementedError


# -- dataset ---------------------------------------------------------------------------------------


class DatasetParams(TaskParams):
    path: str | None = Field(
        default=None,
        description="the samples: a .parquet or .csv file, e.g. ${feature_extract.path}. Give one of path, sql "
        "or feature_set",
    )
    sql: str | None = Field(
        default=None,
        description="the samples: a SELECT run in DuckDB (which reads files, e.g. SELECT * FROM "
        "read_parquet('clicks.parquet')) or on the database at url. Give one of path, sql or feature_set",
        json_schema_extra=written_in("sql"),
    )
    url: str | None = Field(
        default=None,
        description="the database to run sql on, as a SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; "
        "empty: DuckDB",
    )
    feature_set: str | None = Field(
        default=None,
        description="the samples: a deployed feature set's features, computed point-in-time over its managed "
        "tables, e.g. talkingdata. Give one of path, sql or feature_set",
    )
    feature_set_version: int | str | None = Field(
        default=None, description="which version of that feature set, e.g. 2 or ${deploy.version}; empty: the latest",
    )
    split: Literal["random", "time"] = Field(
        default="random",
        description="random: shuffle the rows (with seed); time: sort by time_column, so train holds the "
        "earliest rows and test the latest",
    )
    time_column: str | None = Field(
        default=None, description="the column to sort by for split: time, e.g. click_time",
    )
    fractions: tuple[float, float, float] = Field(
        default=(0.8, 0.1, 0.1),
        description="the shares of train, validation and test, each at least 0 and summing to 1, e.g. "
        "[0.8, 0.1, 0.1]",
    )
    seed: int = Field(default=42, description="the shuffle seed of split: random; the same seed, the same split")
    label: str | None = Field(
        default=None,
        description="the label column, e.g. is_attributed: checked to be there, and its positive rate becomes "
        "the output positive_rate",
    )
    output: str | None = _output("train.parquet, validation.parquet and test.parquet")
    isolation: Isolation = isolation_field()

    @model_validator(mode="after")
    def _source(self, info: ValidationInfo) -> DatasetParams:
        check_sql_field(self.sql, self.url, references_checked(info))
        if sum(x is not None for x in (self.path, self.sql, self.feature_set)) != 1:
            raise ValueError("give exactly one of 'path' (a file), 'sql' (a query) or 'feature_set'")
        if self.url is not None and self.sql is None:
            raise ValueError("'url' needs 'sql': the query to run there")
        if self.split == "time" and not self.time_column:
            raise ValueError("split: time needs 'time_column'")
        return self


class DatasetTask(_MLTask):
    name = "dataset"
    Params = DatasetParams
    group = "ml"
    description = ("Get samples from a file, a SQL query or a feature set and split them into train, validation "
                   "and test Parquet files, at random or by time.")
    needs_store = True  # feature sets, the registry
    code_fields = frozenset({"sql"})

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.ml.data import load_samples, split, write_split

        p: DatasetParams = ctx.params
        out_dir = task_dir(ctx, p.output)
        if p.feature_set is not None:
            path = self._extract(p, ctx, out_dir / "samples.parquet")
        else:
            path = str(_path(p.path, ctx, "path")) if p.path else None
        sql = sql_with_values(p.sql, ctx.values, p.url) if p.sql is not None and p.feature_set is None else None
        df = load_samples(path=path, sql=sql, url=p.url)
        if p.label is not None and p.label not in df.columns:
            raise TaskFailed(f"label {p.label!r} is not a column of the samples ({', '.join(df.columns)})")
        parts = split(df, method=p.split, fractions=p.fractions, time_column=p.time_column, seed=p.seed)
        paths = write_split(parts, out_dir)
        out: dict[str, Any] = {**paths, "rows": len(df), "columns": list(df.columns)}
        for name, part in parts.items():
            out[f"rows_{name}"] = len(part)
        if p.label is not None and len(df):
            out["positive_rate"] = round(float(df[p.label].astype(float).mean()), 6)
        print(f"{len(df)} rows: " + ", ".join(f"{k} {len(v)}" for k, v in parts.items()))
        return out

    @staticmethod
    def _extract(p: DatasetParams, ctx: TaskContext, target: Path) -> str:
        """The feature set's offline output over its managed tables: the samples serving will match."""
        version = parse_version(p.feature_set_version, "feature_set_version")
        info, result = _feature_samples(run_store(), p.feature_set, version, ctx, target)  # type: ignore[arg-type]
        print(f"feature set {info.name} v{info.version}: {result.rows} rows of features")
        return result.path


# -- preprocess ------------------------------------------------------------------------------------


class PreprocessParams(_Columns):
    train: str = Field(
        description="the training samples (.parquet) to fit the steps on, e.g. ${dataset.train}",
    )
    # Typed by the step configs themselves: a wrong step is refused when the workflow is applied,
    # and the UI renders each step type's form from this schema.
    steps: list[StepConfig] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="the preprocessing steps, applied in order, e.g. {type: log, columns: [clicks]}; types: "
        "fill_missing, standard_scale, minmax_scale, log, bucketize, one_hot, hash, label_encode",
    )
    output: str | None = _output("the fitted pipeline (preprocess.json)")
    isolation: Isolation = isolation_field()


class PreprocessTask(_MLTask):
    name = "preprocess"
    Params = PreprocessParams
    group = "ml"
    description = ("Fit preprocessing steps (fill missing values, scale, log, bucketize, one-hot, hash, encode) "
                   "on the training samples; train and serving apply the same pipeline.")

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.ml.preprocess import Pipeline

        p: PreprocessParams = ctx.params
        df = _frame(p.train, ctx, "train")
        steps = [step.model_dump(exclude_none=True) for step in p.steps]
        pipeline = Pipeline(steps, p.inputs(list(df.columns))).fit(df)
        path = task_dir(ctx, p.output) / "preprocess.json"
        path.write_text(json.dumps(pipeline.to_json(), indent=1))
        print(f"{len(pipeline.output_columns)} model features from {len(pipeline.inputs)} columns -> {path}")
        return {"config": str(path), "inputs": list(pipeline.inputs), "features": len(pipeline.output_columns)}


# -- train -----------------------------------------------------------------------------------------


class TrainParams(_Columns):
    algorithm: Algorithm = Field(
        description="the model to train: xgboost, lightgbm, gbdt (gradient-boosted trees), lr (logistic or "
        "ridge regression), mlp (a neural network) or word2vec (embeddings of token sequences)",
    )
    train: str = Field(description="the training samples (.parquet), e.g. ${dataset.train}")
    validation: str | None = Field(
        default=None, description="validation samples (.parquet) for early stopping, e.g. ${dataset.validation}",
    )
    preprocess: str | None = Field(
        default=None,
        description="a fitted preprocessing pipeline, e.g. ${preprocess.config}; its inputs are the model's "
        "inputs. Empty: the columns go to the model as they are",
    )
    objective: Objective = Field(
        default="binary",
        description="binary: labels are 0 or 1 and the score is the probability of 1; regression: predict a number",
    )
    # Not `params`: that key of a task holds its ${...} parameters (see the workflow spec).
    hyperparams: dict[str, Any] = Field(
        default_factory=dict,
        description="the library's own parameters, e.g. {num_boost_round: 100, max_depth: 6} for xgboost",
    )
    early_stopping_rounds: int | None = Field(
        default=None, ge=1,
        description="stop when the validation loss has not improved for this many rounds, e.g. 20; needs "
        "validation",
    )
    sequence_column: str | None = Field(
        default=None,
        description="word2vec only: the column of token sequences (lists, or space-separated text), e.g. notes",
    )
    seed: int = Field(default=42, description="the random seed passed to the library; the same seed, the same model")
    output: str | None = _output("the model")
    isolation: Isolation = isolation_field()


class TrainTask(_MLTask):
    name = "train"
    Params = TrainParams
    group = "ml"
    description = ("Train a model (XGBoost, LightGBM, logistic regression, GBDT, MLP or word2vec) on samples, "
                   "with early stopping on validation samples; saves it with its preprocessing.")

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.ml.bundle import build_bundle
        from shoal.ml.preprocess import Pipeline
        from shoal.ml.train import train

        p: TrainParams = ctx.params
        df = _frame(p.train, ctx, "train")
        valid = _frame(p.validation, ctx, "validation") if p.validation else None
        if p.algorithm == "word2vec":
            column = p.sequence_column
            if column is None or column not in df.columns:
                raise TaskFailed(f"word2vec needs sequence_column: one of {', '.join(df.columns)}")
            result = train("word2vec", df[column], None, params=p.hyperparams, seed=p.seed)
            pipeline, inputs = None, [column]
        else:
            if p.label is None or p.label not in df.columns:
                raise TaskFailed(f"label: give the label column, one of {', '.join(df.columns)}")
            if p.preprocess:
                pipeline = Pipeline.from_json(json.loads(_path(p.preprocess, ctx, "preprocess").read_text()))
                inputs = list(pipeline.inputs)
            else:
                inputs = p.inputs(list(df.columns))
                pipeline = Pipeline([], inputs).fit(df)
            X = pipeline.transform(df)
            y = df[p.label].to_numpy(dtype=float)
            Xv = yv = None
            if valid is not None and len(valid):
                Xv, yv = pipeline.transform(valid), valid[p.label].to_numpy(dtype=float)
            result = train(
                p.algorithm, X, y, X_valid=Xv, y_valid=yv, objective=p.objective, params=p.hyperparams,
                early_stopping_rounds=p.early_stopping_rounds, seed=p.seed, feature_names=pipeline.output_columns,
            )
        bundle = build_bundle(result, algorithm=p.algorithm, label=p.label, frame=df, pipeline=pipeline,
                              inputs=inputs)
        out_dir = task_dir(ctx, p.output)
        bundle.save(out_dir)
        print(f"{p.algorithm} trained on {len(df)} rows in {result.seconds:.1f}s"
              + (f", best iteration {result.best_iteration}" if result.best_iteration is not None else "")
              + f" -> {out_dir}")
        return {"model_dir": str(out_dir), "best_iteration": result.best_iteration,
                "seconds": round(result.seconds, 3), "rows": len(df)}


# -- evaluate --------------------------------------------------------------------------------------


class EvaluateParams(TaskParams):
    model_dir: str = Field(description="the trained model to evaluate, e.g. ${train.model_dir}")
    data: str = Field(description="the labelled samples (.parquet) to score, e.g. ${dataset.test}")
    label: str = Field(description="the label column of data, e.g. is_attributed")
    threshold: float = Field(
        default=0.5, ge=0, le=1,
        description="a score at or above this predicts 1, for accuracy, precision, recall, f1 and the confusion "
        "matrix (0 to 1)",
    )
    output: str | None = _output("the evaluation report (evaluation.json)")
    isolation: Isolation = isolation_field()


class EvaluateTask(_MLTask):
    name = "evaluate"
    Params = EvaluateParams
    group = "ml"
    description = ("Score labelled samples with a trained model; its metrics (auc, logloss, accuracy, ...) "
                   "become outputs, e.g. for a switch on ${evaluate.auc}, and its ROC and PR curves, confusion "
                   "matrix and feature importance a report, ${evaluate.evaluation}, to register with the model.")

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.ml.bundle import ModelBundle
        from shoal.ml.evaluation import report
        from shoal.ml.metrics import evaluate

        p: EvaluateParams = ctx.params
        bundle = ModelBundle.load(_path(p.model_dir, ctx, "model_dir"))
        df = _frame(p.data, ctx, "data")
        if p.label not in df.columns:
            raise TaskFailed(f"label {p.label!r} is not a column of {p.data}")
        scores = bundle.predict_frame(df)
        y = df[p.label].to_numpy(dtype=float)
        objective = bundle.meta.get("objective", "binary")
        metrics = evaluate(y, scores, objective=objective, threshold=p.threshold)
        print("  ".join(f"{k}={int(v)}" if k in ("rows", "positives") else f"{k}={v:.4f}" for k, v in metrics.items()))
        doc = report(y, scores, objective=objective, threshold=p.threshold, model=bundle.model)
        path = task_dir(ctx, p.output) / "evaluation.json"
        tmp = path.with_name(f".{path.name}.tmp")  # a named output folder is not emptied: replace atomically
        tmp.write_text(json.dumps(doc, separators=(",", ":")))
        os.replace(tmp, path)
        print(f"evaluation report ({path.stat().st_size} bytes) -> {path}")
        return {**metrics, "evaluation": str(path)}


# -- release ---------------------------------------------------------------------------------------


class ReleaseParams(TaskParams):
    model: str = Field(
        description="the registered model's name: letters, digits, _ - and ., e.g. ctr_model; a new version of "
        "it is made",
    )
    model_dir: str = Field(description="the trained model to register, e.g. ${train.model_dir}")
    alias: str | None = Field(
        default="production",
        description="the alias to move to the new version, e.g. production or staging; null: register only",
    )
    feature_set: str | None = Field(
        default=None,
        description="the feature set the model server computes for each request, e.g. talkingdata; empty: none",
    )
    feature_set_version: int | str | None = Field(
        default=None, description="which version of that feature set, e.g. ${deploy.version}; empty: the latest",
    )
    metrics: dict[str, float | str] = Field(
        default_factory=dict,
        description="metrics stored with the version, name -> number, e.g. {auc: '${evaluate.auc}'}",
    )
    description: str = Field(default="", description="a note stored with the version, e.g. what changed")
    evaluation: str | None = Field(
        default=None,
        description="the evaluation report to store with the version (ROC and PR curves, confusion matrix, "
        "feature importance), e.g. ${evaluate.evaluation}; empty: none",
    )
    isolation: Isolation = isolation_field()


class ReleaseTask(_MLTask):
    name = "release"
    Params = ReleaseParams
    group = "ml"
    description = ("Register a trained model as a new version in the model registry, with its metrics, and move "
                   "an alias (production) to it: the model server loads it.")
    needs_store = True  # feature sets, the registry

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.registry import Registry
        from shoal.registry.evaluation import read_evaluation

        p: ReleaseParams = ctx.params
        registry = Registry(run_store(), ctx.project)
        fs_version = parse_version(p.feature_set_version, "feature_set_version")
        evaluation = read_evaluation(_path(p.evaluation, ctx, "evaluation")) if p.evaluation else None
        mv = registry.register(
            p.model, _path(p.model_dir, ctx, "model_dir"),
            metrics={k: number(v, f"metrics.{k}") for k, v in p.metrics.items()},
            feature_set=p.feature_set, feature_set_version=fs_version, description=p.description,
            run_id=ctx.run_id, task_run_id=ctx.task_run_id, evaluation=evaluation,
        )
        out: dict[str, Any] = {"model": p.model, "version": mv.version, "artifact": mv.artifact_uri}
        if p.alias:
            r = registry.release(p.model, mv.version, p.alias)
            out.update(alias=p.alias, previous=r.from_version)
            print(f"{p.model} version {mv.version} registered; {p.alias} -> v{mv.version}"
                  + (f" (was v{r.from_version})" if r.from_version else ""))
        else:
            print(f"{p.model} version {mv.version} registered (no alias moved)")
        return out


# -- batch_predict ---------------------------------------------------------------------------------


class BatchPredictParams(TaskParams):
    model: str = Field(description="the registered model to score with, e.g. ctr_model")
    version: int | str | None = Field(
        default=None, description="which version of it, e.g. 3 or ${release.version}; empty: the alias's version",
    )
    alias: str = Field(
        default="production", description="the alias whose version scores when no version is given",
    )
    data: str | None = Field(
        default=None, description="the rows to score: a .parquet or .csv file. Give this or table",
    )
    table: str | None = Field(
        default=None, description="the rows to score: a managed table, e.g. talkingdata. Give this or data",
    )
    output: str = Field(
        description="the Parquet file to write the scores to, e.g. scores_${ds_nodash}.parquet; relative: under "
        "SHOAL_ARTIFACTS",
    )
    keep: list[str] = Field(
        default_factory=list, description="columns copied next to the score, such as ids, e.g. [click_id]",
    )
    isolation: Isolation = isolation_field()

    @model_validator(mode="after")
    def _source(self) -> BatchPredictParams:
        if (self.data is None) == (self.table is None):
            raise ValueError("give exactly one of 'data' (a file) or 'table' (a managed table)")
        return self


class BatchPredictTask(_MLTask):
    """Scores a file or a managed table with a model version into Parquet.

    For a model served with a feature set, rows that lack the model's inputs are raw rows of the
    feature set's main table: their features are computed offline (point-in-time, the same SQL
    serving runs online) before scoring, so a batch score equals what /predict would have said.
    """

    name = "batch_predict"
    Params = BatchPredictParams
    group = "ml"
    description = ("Score a file or a managed table with a registered model version into a Parquet file; "
                   "features of a model served with a feature set are computed as serving would.")
    needs_store = True  # the registry, feature sets

    def work(self, ctx: TaskContext) -> dict[str, Any]:
        from shoal.config import get_settings
        from shoal.features import catalog
        from shoal.ml.data import load_samples, write_frame
        from shoal.registry import Registry

        p: BatchPredictParams = ctx.params
        store = run_store()
        registry = Registry(store, ctx.project)
        version = parse_version(p.version)
        mv = registry.get(p.model, version=version, alias=None if version else p.alias)
        bundle = registry.load(mv)
        if p.table is not None:
            path = catalog.get_table(store, p.table, project=ctx.project).location
        else:
            path = str(_path(p.data, ctx, "data"))  # type: ignore[arg-type]
        df = load_samples(path=path)
        if mv.feature_set and any(c not in df.columns for c in bundle.inputs):
            df = self._features(store, mv, path, ctx)
        missing = [c for c in p.keep if c not in df.columns]
        if missing:
            raise TaskFailed(f"keep {missing}: not columns of the scored rows ({', '.join(df.columns)})")
        out = df[p.keep].copy()
        out["score"] = bundle.predict_frame(df)
        target = Path(p.output)
        if not target.is_absolute():
            target = Path(get_settings().artifacts_url) / target
        write_frame(out, target)
        print(f"scored {len(df)} rows with {p.model} v{mv.version} -> {target}")
        return {"path": str(target), "rows": len(df), "model": p.model, "version": mv.version}

    @staticmethod
    def _features(store: Any, mv: Any, path: str, ctx: TaskContext) -> Any:
        from shoal.ml.data import load_samples

        info, result = _feature_samples(store, mv.feature_set, mv.feature_set_version, ctx,
                                        task_dir(ctx) / "features.parquet", main_file=path)
        print(f"computed {len(result.columns)} features of {mv.feature_set} v{info.version} for {result.rows} rows")
        return load_samples(path=result.path)
