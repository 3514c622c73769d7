"""The ML task types in real runs: the TalkingData workflow, other algorithms, and bad params."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from shoal.client import Client
from shoal.errors import InvalidInput
from shoal.registry import Registry
from tests.engine.conftest import RunYaml, outputs, states
from tests.features.conftest import ROOT
from tests.serving.conftest import frame


@pytest.fixture(scope="module")
def executor():  # type: ignore[no-untyped-def]
    """An executor of this module's own: the ML libraries take seconds to import, so it preloads
    them once and every forked ML task starts warm (the shared one stays light for engine tests
    that restart it)."""
    from shoal.executors.local import LocalExecutor

    ex = LocalExecutor(preload=["shoal.tasks.runtime", "shoal.ml.bundle", "shoal.ml.data", "shoal.ml.metrics",
                                "shoal.ml.train", "xgboost", "lightgbm"])
    ex.start()
    yield ex
    ex.close()


TASKS = ["import_clicks", "feature_extract", "dataset", "preprocess", "train", "evaluate", "check_auc",
         "deploy_features", "online_import", "release"]


@pytest.mark.slow  # the whole TalkingData workflow: features, xgboost, release (30+ s)
def test_talkingdata_workflow_trains_checks_and_releases(client: Client, tmp_path: Path) -> None:
    from examples.talkingdata.make_data import make

    wf = tmp_path / "talkingdata"
    shutil.copytree(ROOT / "examples" / "talkingdata", wf, ignore=shutil.ignore_patterns("__pycache__"))
    make(str(wf / "talkingdata.csv"), rows=40_000)
    (applied,) = client.apply_path(wf / "workflow.yaml")
    info = client.run(applied.name, wait=True, timeout=240)
    assert states(info) == {**{t: "success" for t in TASKS}, "alert": "skipped"}, info
    ds = outputs(info, "dataset")
    assert ds["rows"] == 40_000 and ds["rows_train"] == 28_000
    assert 0.001 < float(ds["positive_rate"]) < 0.01  # TalkingData-like: installs are rare
    auc = float(outputs(info, "evaluate")["auc"])  # type: ignore[arg-type]
    assert auc >= 0.75
    rel = outputs(info, "release")
    assert rel["version"] == 1 and rel["alias"] == "production"

    reg = Registry(client.store)
    mv = reg.get("talkingdata", alias="production")
    assert mv.feature_set == "talkingdata" and mv.feature_set_version == 1
    assert mv.metrics["auc"] == pytest.approx(auc) and mv.run_id == info.id
    assert "ip" in mv.signature["required"] and "click_time" in mv.signature["required"]
    assert [s["type"] for s in mv.preprocess["steps"]] == ["log", "fill_missing"]  # type: ignore[index]
    # evaluate wrote its report beside the metrics; release stored it with the version.
    evaluated = outputs(info, "evaluate")
    report = json.loads(Path(str(evaluated["evaluation"])).read_text())
    assert reg.evaluation("talkingdata", mv.version) == report
    assert report["auc"] == pytest.approx(auc) and sum(report["confusion"].values()) == evaluated["rows"]
    assert report["confusion"]["tp"] + report["confusion"]["fn"] == evaluated["positives"]
    assert report["importance"]["kind"] == "gain" and len(report["importance"]["features"]) > 3
    assert {f["feature"] for f in report["importance"]["features"]} <= set(mv.signature["features"])
    # The released model scores a raw click with the online features the workflow loaded.
    from shoal.serving import LoadedModel

    loaded = LoadedModel.load(reg, mv)
    (score,) = loaded.score([{"ip": 5003, "app": 12, "device": 1, "os": 13, "channel": 245,
                              "click_time": 1510185660000}])
    assert 0 <= score < 0.05  # a bot ip

    # The same feature set as a dataset source, and a batch score of the raw table: features are
    # computed offline for the raw clicks, then scored.
    extra = wf / "more.yaml"
    extra.write_text(f"""
name: td_more
tasks:
  - {{name: samples, type: dataset, feature_set: talkingdata, label: is_attributed, fractions: [1, 0, 0]}}
  - {{name: score, type: batch_predict, model: talkingdata, table: talkingdata, keep: [ip, app],
     output: "{tmp_path}/scores.parquet"}}
""")
    (more,) = client.apply_path(extra)
    info2 = client.run(more.name, wait=True, timeout=240)
    assert set(states(info2).values()) == {"success"}, info2
    assert outputs(info2, "samples")["rows"] == 40_000 and "ip_clicks_1h" in outputs(info2, "samples")["columns"]
    scored = duckdb.connect().execute(
        f"SELECT count(*), min(score), max(score), count(DISTINCT ip) FROM '{tmp_path}/scores.parquet'").fetchone()
    assert scored[0] == 40_000 and 0 <= scored[1] <= scored[2] <= 1 and scored[3] > 100

    # Demand an AUC no model reaches: the switch takes the alert branch and nothing is released.
    again = client.run(applied.name, wait=True, timeout=240, params={"min_auc": "1.01"})
    st = states(again)
    assert st["alert"] == "success" and st["release"] == "skipped" and st["deploy_features"] == "skipped"
    assert [v.version for v in reg.versions("talkingdata")] == [1]


# The algorithm matrix runs on SQLite only: the metadata backend is the TalkingData test's concern.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    path = tmp_path / "samples.parquet"
    df = frame(rows=1500)
    df["city"] = ["a", "b", "c"][0:1] * 500 + ["b"] * 500 + ["c"] * 500
    df["tokens"] = [f"app{a} hour{int(h) // 6}" for a, h in zip(df["app"], df["hour"], strict=True)]
    df.to_parquet(path)
    return path


@sqlite_only
@pytest.mark.slow  # trains and predicts end to end, 3-8 s per algorithm
@pytest.mark.parametrize("algorithm", ["lightgbm", "lr", "gbdt", "mlp"])
def test_other_algorithms_and_batch_predict(run_yaml: RunYaml, client: Client, samples: Path, algorithm: str,
                                            tmp_path: Path) -> None:
    info = run_yaml(f"""
        name: ml_{algorithm}
        tasks:
          - {{name: dataset, type: dataset, path: "{samples}", label: label, fractions: [0.6, 0.2, 0.2]}}
          - name: preprocess
            type: preprocess
            upstream: [dataset]
            train: ${{dataset.train}}
            label: label
            exclude: [tokens]
            steps:
              - {{type: fill_missing, columns: [hour], strategy: median}}
              - {{type: standard_scale, columns: [clicks, hour]}}
              - {{type: one_hot, columns: [app, city]}}
          - name: train
            type: train
            upstream: [preprocess]
            algorithm: {algorithm}
            train: ${{dataset.train}}
            validation: ${{dataset.validation}}
            preprocess: ${{preprocess.config}}
            label: label
            early_stopping_rounds: {"null" if algorithm == "lr" else 5}
          - {{name: evaluate, type: evaluate, upstream: [train], model_dir: "${{train.model_dir}}",
              data: "${{dataset.test}}", label: label}}
          - name: gate
            type: switch
            upstream: [evaluate]
            cases: [{{when: "${{evaluate.auc}} >= 0.7", then: release}}]
          - {{name: release, type: release, upstream: [gate], model: m_{algorithm}, model_dir: "${{train.model_dir}}",
              metrics: {{auc: "${{evaluate.auc}}"}}}}
          - {{name: score, type: batch_predict, upstream: [release], model: m_{algorithm}, data: "{samples}",
              output: "{tmp_path}/scores.parquet", keep: [clicks, app]}}
    """)
    assert set(states(info).values()) == {"success"}, info
    assert float(outputs(info, "evaluate")["auc"]) >= 0.7  # type: ignore[arg-type]
    mv = Registry(client.store).get(f"m_{algorithm}", alias="production")
    assert mv.flavor in ("lightgbm", "sklearn") and mv.metrics["auc"] > 0.7
    scores = duckdb.connect().execute(f"SELECT clicks, app, score FROM '{tmp_path}/scores.parquet'").fetchall()
    assert len(scores) == 1500 and all(0 <= s <= 1 for _, _, s in scores)


@sqlite_only
def test_word2vec_learns_embeddings(run_yaml: RunYaml, samples: Path) -> None:
    info = run_yaml(f"""
        name: w2v
        tasks:
          - {{name: dataset, type: dataset, path: "{samples}", fractions: [1, 0, 0]}}
          - name: train
            type: train
            upstream: [dataset]
            algorithm: word2vec
            train: ${{dataset.train}}
            sequence_column: tokens
            hyperparams: {{vector_size: 8, min_count: 1, epochs: 5}}
    """)
    assert set(states(info).values()) == {"success"}, info
    from shoal.ml.bundle import ModelBundle

    bundle = ModelBundle.load(str(outputs(info, "train")["model_dir"]))
    (vec,) = bundle.predict_rows([{"tokens": "app3 hour1"}])
    assert len(vec) == 8


@sqlite_only
@pytest.mark.parametrize(
    ("task", "words"),
    [
        ("{name: t, type: train, algorithm: catboost, train: x.parquet, label: y}", ["algorithm", "catboost"]),
        ("{name: t, type: dataset, path: x.parquet, sql: 'SELECT 1'}", ["exactly one of 'path'"]),
        ("{name: t, type: dataset, path: x.parquet, feature_set: fs}", ["exactly one of 'path'"]),
        ("{name: t, type: batch_predict, model: m, output: o.parquet}", ["exactly one of 'data'"]),
        ("{name: t, type: preprocess, train: x.parquet, steps: [{type: log}]}", ["steps", "columns"]),
        ("{name: t, type: preprocess, train: x.parquet, steps: [{type: scale, columns: [a]}]}",
         ["steps", "'scale'", "standard_scale"]),
        ("{name: t, type: preprocess, train: x.parquet, steps: [{type: bucketize, columns: [a]}]}",
         ["boundaries", "n_buckets"]),
        ("{name: t, type: dataset, path: x.parquet, split: time}", ["time_column"]),
        ("{name: t, type: evaluate, model_dir: m, data: d.parquet, label: y, threshold: 2}", ["threshold"]),
        ("{name: t, type: release, model_dir: m}", ["model"]),
        ("{name: t, type: train, algorithm: xgboost, train: x.parquet, label: y, early_stopping_rounds: 0}",
         ["early_stopping_rounds"]),
    ],
)
def test_bad_ml_params_are_refused_at_apply(apply_yaml: Callable[[str], str], task: str, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as err:
        apply_yaml(f"name: bad\ntasks:\n  - {task}\n")
    for w in words:
        assert w in str(err.value)


@sqlite_only
def test_a_failing_ml_task_says_why(run_yaml: RunYaml, client: Client, samples: Path) -> None:
    info = run_yaml(f"""
        name: ml_bad
        tasks:
          - {{name: dataset, type: dataset, path: "{samples}", label: no_such_column}}
    """)
    assert states(info) == {"dataset": "failed"}
    log = (client.store.logs_dir).rglob("*.log")
    text = "\n".join(p.read_text() for p in log)
    assert "label 'no_such_column' is not a column" in text
