"""The model server over HTTP (in process, on SQLite and PostgreSQL): answers, errors, swaps."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shoal.features import catalog
from shoal.ml.bundle import ModelBundle
from shoal.registry import Registry
from shoal.serving import ModelWatcher, create_app
from shoal.store import Store
from tests.serving.conftest import save_bundle

ROW = {"clicks": 30, "app": 3, "hour": 10.5}


@pytest.fixture
def served(registry: Registry) -> Iterator[tuple[TestClient, ModelWatcher]]:
    watcher = ModelWatcher(registry, "ctr", "production", poll=3600)  # swaps only when the test calls check()
    with TestClient(create_app(watcher)) as client:
        yield client, watcher


def test_predict_one_row_and_a_list(served: tuple[TestClient, ModelWatcher], registry: Registry) -> None:
    client, _ = served
    bundle = registry.load(registry.get("ctr", version=1))
    r = client.post("/predict", json=ROW)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "ctr" and body["version"] == 1
    assert body["score"] == pytest.approx(float(bundle.predict_rows([ROW])[0]), abs=1e-7)
    rows = [ROW, {**ROW, "clicks": 0, "app": 1}, {**ROW, "hour": None}]  # null: a missing value
    r = client.post("/predict", json=rows)
    assert r.status_code == 200
    assert r.json()["scores"] == pytest.approx([float(s) for s in bundle.predict_rows(rows)], abs=1e-7)
    assert r.json()["scores"][0] > r.json()["scores"][1]  # the model learned the signal


def test_invocations_speaks_mlflow(served: tuple[TestClient, ModelWatcher]) -> None:
    client, _ = served
    expected = client.post("/predict", json=[ROW, {**ROW, "app": 0}]).json()["scores"]
    split = {"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values()), [30, 0, 10.5]]}}
    records = {"dataframe_records": [ROW, {**ROW, "app": 0}]}
    for body in (split, records):
        r = client.post("/invocations", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["predictions"] == pytest.approx(expected)


def test_health_and_metadata(served: tuple[TestClient, ModelWatcher]) -> None:
    client, _ = served
    assert client.get("/health").json() == {"status": "ok", "model": "ctr", "alias": "production", "version": 1}
    meta = client.get("/metadata").json()
    assert meta["version"] == 1 and meta["flavor"] == "xgboost" and meta["metrics"] == {"auc": 0.8}
    assert meta["signature"]["inputs"] == {"clicks": "int", "app": "int", "hour": "float"}


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"app": 3, "hour": 1.0}, 422, "clicks", ["no clicks"]),
        ({**ROW, "clicks": "many"}, 422, "clicks", ["expected a number", "'many'"]),
        ({**ROW, "app": [3]}, 422, "app", ["expected a number"]),
        ([ROW, {"clicks": 1, "hour": 2.0}], 422, "app", ["no app"]),
        ([ROW, 7], 400, "[1]", ["row 1 is int", "not a JSON object"]),
        ({**ROW, "app": 3.7}, 422, "app", ["expected an integer"]),
        ([], 400, None, ["non-empty list"]),
        ("just text", 400, None, ["one JSON object"]),
    ],
)
def test_bad_rows_get_4xx_naming_the_field(
    served: tuple[TestClient, ModelWatcher], body: Any, status: int, field: str | None, words: list[str]
) -> None:
    client, _ = served
    r = client.post("/predict", json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    for w in words:
        assert w in err["message"]
    if field is not None:
        assert err["details"]["field"] == field


@pytest.mark.parametrize(
    ("path", "raw", "words"),
    [
        ("/predict", b"{not json", ["not valid JSON"]),
        ("/predict", b"", ["empty"]),
        ("/predict", b'{"clicks": NaN, "app": 3, "hour": 1}', ["not valid JSON"]),
        ("/invocations", b'{"instances": []}', ["dataframe_split or dataframe_records", "instances"]),
        ("/invocations", b'{"dataframe_split": {"columns": ["clicks"], "data": [[1, 2]]}}', ["data[0]"]),
        ("/invocations", b'{"dataframe_records": {"clicks": 1}}', ["list of objects"]),
        ("/invocations", b'{"dataframe_records": [{"clicks": 1}, [1]]}', ["row 1 is list"]),
    ],
)
def test_malformed_bodies_get_400(served: tuple[TestClient, ModelWatcher], path: str, raw: bytes,
                                  words: list[str]) -> None:
    client, _ = served
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    for w in words:
        assert w in r.json()["error"]["message"]


def test_the_server_follows_the_alias(served: tuple[TestClient, ModelWatcher], registry: Registry) -> None:
    client, watcher = served
    assert not watcher.check()  # nothing moved
    registry.release("ctr", 2)
    assert watcher.check()
    assert client.post("/predict", json=ROW).json()["version"] == 2
    registry.rollback("ctr")
    assert watcher.check()
    assert client.post("/predict", json=ROW).json()["version"] == 1


def test_a_version_that_does_not_load_is_skipped(served: tuple[TestClient, ModelWatcher], registry: Registry,
                                                 tmp_path: Path) -> None:
    client, watcher = served
    v3 = registry.register("ctr", save_bundle(tmp_path / "b3", seed=3))
    registry.release("ctr", v3.version)
    # The artifact breaks after release (a disk fault, a bad copy): the server keeps version 1.
    (Path(v3.artifact_uri) / "bundle.json").write_text("{broken")
    assert not watcher.check()
    assert client.post("/predict", json=ROW).json()["version"] == 1
    health = client.get("/health").json()
    assert health["version"] == 1 and health["failed"]["version"] == v3.version  # says what it could not load
    assert "bundle.json" in health["failed"]["error"]
    # Releasing a good version clears it.
    registry.release("ctr", 2)
    assert watcher.check() and "failed" not in client.get("/health").json()


def test_unknown_paths_answer_in_the_error_shape(served: tuple[TestClient, ModelWatcher]) -> None:
    client, _ = served
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found" and "/nope" in r.json()["error"]["message"]
    r = client.get("/predict")
    assert r.status_code == 405 and "POST /predict" in r.json()["error"]["message"]


# -- a feature-set model: the request is a raw click; serving computes its window features -------------


@pytest.fixture
def click_model(store: Store, talkingdata_csv: Path, tmp_path: Path) -> Registry:
    return make_click_model(store, talkingdata_csv, tmp_path)


def make_click_model(store: Store, talkingdata_csv: Path, tmp_path: Path, project: str = "default") -> Registry:
    """Clicks imported, feature set `td` deployed and loaded online, a model on its features released."""
    from shoal.features.offline import extract
    from shoal.ml.bundle import build_bundle
    from shoal.ml.data import load_samples
    from shoal.ml.preprocess import Pipeline
    from shoal.ml.train import train
    from tests.features.conftest import TALKINGDATA_SQL

    catalog.import_table(store, "talkingdata", path=talkingdata_csv, project=project)
    info, _ = catalog.deploy(store, "td", TALKINGDATA_SQL.read_text(), project=project)
    online = catalog.open_online_store(store.settings)
    with online.transaction():
        _, fs = catalog.open_feature_set(store, online, "td", project=project)
        fs.import_offline(catalog.table_sources(store, info))
    sources = catalog.table_sources(store, info)
    out = extract(info.query(), sources, tmp_path / "samples.parquet")
    df = load_samples(path=out.path)
    inputs = ["app", "os", "hour_of_click", "ip_clicks_1h", "ip_clicks_1d", "ip_app_clicks_1d"]
    pipeline = Pipeline([{"type": "log", "columns": ["ip_clicks_1h", "ip_clicks_1d"]}], inputs).fit(df)
    result = train("xgboost", pipeline.transform(df), df["is_attributed"].to_numpy(float),
                   params={"num_boost_round": 5})
    build_bundle(result, algorithm="xgboost", label="is_attributed", frame=df, pipeline=pipeline).save(
        tmp_path / "clicks_model")
    reg = Registry(store, project)
    reg.register("clicks", tmp_path / "clicks_model", feature_set="td")
    reg.release("clicks", 1)
    return reg


CLICK = {"ip": 5003, "app": 12, "device": 1, "os": 13, "channel": 245, "click_time": "2017-11-09 00:01:00"}


@pytest.mark.slow  # imports clicks, deploys a feature set and trains on it first (4-7 s)
def test_a_click_is_scored_on_its_online_features(click_model: Registry) -> None:
    watcher = ModelWatcher(click_model, "clicks", "production", poll=3600)
    with TestClient(create_app(watcher)) as client:
        r = client.post("/predict", json=CLICK)
        assert r.status_code == 200, r.text
        online = catalog.open_online_store(click_model.store.settings)
        _, fs = catalog.open_feature_set(click_model.store, online, "td")
        features = fs.compute(CLICK)
        bundle: ModelBundle = click_model.load(click_model.get("clicks", version=1))
        assert r.json()["score"] == pytest.approx(float(bundle.predict_rows([features])[0]), abs=1e-7)
        assert features["ip_clicks_1d"] > 1  # the request saw the stored history of its ip
        # Epoch milliseconds are the same instant as the text time.
        ms = {**CLICK, "click_time": 1510185660000}
        assert client.post("/predict", json=ms).json()["score"] == r.json()["score"]
        for bad, field in (({k: v for k, v in CLICK.items() if k != "ip"}, "ip"),
                           ({**CLICK, "click_time": "soon"}, "click_time"),
                           ({**CLICK, "app": "twelve"}, "app")):
            r = client.post("/predict", json=bad)
            assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text
        assert not math.isnan(client.post("/predict", json=[CLICK, CLICK]).json()["scores"][1])
        # A value nested as deep as JSON allows: a 4xx, even where an error message would show it.
        deep = json.dumps({**CLICK, "device": "@"}).replace('"@"', "[" * 1000 + "]" * 1000)
        for body in (deep, f"[{deep}, {deep}]"):
            r = client.post("/predict", content=body, headers={"content-type": "application/json"})
            assert r.status_code in (400, 422) and r.json()["error"]["message"], r.text
        assert json.loads(client.get("/metadata").content)["feature_set"] == "td"
        # A new version on the same feature set version keeps the loaded online store (no reload).
        before = watcher.current.features
        v2 = click_model.register("clicks", Path(click_model.get("clicks", version=1).artifact_uri), feature_set="td")
        click_model.release("clicks", v2.version)
        assert watcher.check() and watcher.current.version.version == 2
        assert watcher.current.features is before


@pytest.mark.integration
@pytest.mark.slow
def test_with_redis_the_server_sees_live_rows(store: Store, talkingdata_csv: Path, tmp_path: Path) -> None:
    """On Redis, a click stored by another process counts in the very next request's features."""
    import uuid

    from tests.features.conftest import require_redis

    settings = store.settings.model_copy(update={"online_store": require_redis()})
    project = f"t{uuid.uuid4().hex[:10]}"  # its own online namespace: <project>/td/v1
    reg = make_click_model(Store(engine=store.engine, settings=settings), talkingdata_csv, tmp_path, project)
    online = catalog.open_online_store(settings)
    _, fs = catalog.open_feature_set(reg.store, online, "td", project=project)
    try:
        watcher = ModelWatcher(reg, "clicks", "production", poll=3600)
        with TestClient(create_app(watcher)) as client:
            click = {**CLICK, "ip": 424242}  # an ip with no history
            bundle = reg.load(reg.get("clicks", version=1))

            def expected() -> tuple[float, int]:
                features = fs.compute(click)
                return float(bundle.predict_rows([features])[0]), features["ip_clicks_1h"]

            score, clicks = expected()
            assert clicks == 1 and client.post("/predict", json=click).json()["score"] == pytest.approx(score)
            fs.insert({**click, "click_time": "2017-11-09 00:00:30"})  # "another process" stores a click
            score, clicks = expected()
            assert clicks == 2 and client.post("/predict", json=click).json()["score"] == pytest.approx(score)
    finally:
        fs.clear()
