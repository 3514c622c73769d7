"""Feature sets and models over the API: deploy, list, show, compute; versions, release,
rollback and history; each refused to users outside the project, even by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.services import features, models
from shoal.store import Store
from tests.api.conftest import Call, error_of
from tests.features.conftest import TALKINGDATA_SQL
from tests.registry.conftest import REPORT, bundle_dirs, talkingdata_small  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow  # trains small models and imports a table: seconds

FS = "/api/v1/projects/fraud/feature-sets"
MODELS = "/api/v1/projects/fraud/models"


def test_feature_sets_deploy_list_show_compute(api: dict[str, Call], store: Store, talkingdata_small: Path) -> None:  # noqa: F811
    features.import_table(store, "talkingdata", path=talkingdata_small, project="fraud")
    sql = TALKINGDATA_SQL.read_text()
    error_of(api["bob"]("POST", FS, json={"name": "td", "sql": sql}), 403)  # a viewer
    made = api["alice"]("POST", FS, json={"name": "td", "sql": sql})
    assert made.status_code == 201 and made.json() == {"project": "fraud", "name": "td", "version": 1,
                                                       "changed": True}, made.text
    assert api["alice"]("POST", FS, json={"name": "td", "sql": sql}).json()["changed"] is False
    broken = api["alice"]("POST", FS, json={"name": "td", "sql": sql.replace("FROM talkingdata", "FROM nope")})
    assert "no table nope" in error_of(broken, 404)["message"]
    garbled = api["alice"]("POST", FS, json={"name": "td", "sql": "SELEC ip FROM talkingdata"})
    assert error_of(garbled, 422)["message"]
    tables = api["bob"]("GET", "/api/v1/projects/fraud/feature-tables").json()
    assert [t["name"] for t in tables] == ["talkingdata"] and tables[0]["schema"]["ip"]
    assert [(s["name"], s["version"]) for s in api["bob"]("GET", FS).json()] == [("td", 1)]
    shown = api["bob"]("GET", f"{FS}/td").json()
    assert shown["version"] == 1 and "ip_clicks_1h" in shown["features"] and "ip_1h" in shown["windows"]
    shown_features = len(shown["features"])
    row = {"ip": 5001, "app": 3, "device": 1, "os": 13, "channel": 280, "click_time": "2017-11-07 09:30:00",
           "is_attributed": 0}
    (computed,) = api["bob"]("POST", f"{FS}/td/compute", json={"rows": [row]}).json()
    assert computed["ip_clicks_1h"] == 1 and computed["hour_of_click"] == 9, computed
    error_of(api["bob"]("POST", f"{FS}/td/compute", json={"rows": []}), 422)
    error_of(api["bob"]("GET", f"{FS}/nope"), 404)
    error_of(api["bob"]("GET", f"{FS}/nope/versions"), 404)
    assert api["alice"]("POST", FS, json={"name": "td", "sql": sql.replace("SELECT", "SELECT ip AS ip_again,", 1)}
                        ).json()["version"] == 2
    versions = api["bob"]("GET", f"{FS}/td/versions").json()
    assert [(v["version"], v["features"]) for v in versions] == [(2, shown_features + 1), (1, shown_features)]
    assert api["bob"]("GET", f"{FS}/td", params={"version": 1}).json()["sql"] == sql
    for path in (FS, f"{FS}/td", f"{FS}/td/versions", "/api/v1/projects/fraud/feature-tables"):
        error_of(api["carol"]("GET", path), 403)
    error_of(api["carol"]("POST", f"{FS}/td/compute", json={"rows": [row]}), 403)
    error_of(api["alice"]("GET", "/api/v1/projects/default/feature-sets"), 403)  # not her project


def test_models_versions_release_rollback(api: dict[str, Call], store: Store, bundle_dirs: list[Path]) -> None:  # noqa: F811
    for bundle in bundle_dirs[:2]:
        models.register(store, "ctr", bundle, project="fraud", metrics={"auc": 0.7})
    assert [(m["name"], m["latest_version"]) for m in api["bob"]("GET", MODELS).json()] == [("ctr", 2)]
    versions = api["bob"]("GET", f"{MODELS}/ctr/versions").json()
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["metrics"]["auc"] == 0.7
    error_of(api["bob"]("POST", f"{MODELS}/ctr/release", json={"version": 1}), 403)
    assert api["alice"]("POST", f"{MODELS}/ctr/release", json={"version": 1}).json()["to_version"] == 1
    assert api["alice"]("POST", f"{MODELS}/ctr/release", json={"version": 2}).json()["to_version"] == 2
    assert api["bob"]("GET", f"{MODELS}/ctr", params={"alias": "production"}).json()["version"] == 2
    back = api["alice"]("POST", f"{MODELS}/ctr/rollback", json={})
    assert (back.json()["from_version"], back.json()["to_version"]) == (2, 1), back.text
    history = api["bob"]("GET", f"{MODELS}/ctr/releases").json()
    assert [(h["from_version"], h["to_version"]) for h in history] == [(None, 1), (1, 2), (2, 1)]
    error_of(api["alice"]("POST", f"{MODELS}/ctr/release", json={"version": 9}), 404)
    error_of(api["bob"]("GET", f"{MODELS}/nope"), 404)
    for path in (MODELS, f"{MODELS}/ctr", f"{MODELS}/ctr/versions", f"{MODELS}/ctr/releases"):
        error_of(api["carol"]("GET", path), 403)
    error_of(api["carol"]("POST", f"{MODELS}/ctr/rollback", json={}), 403)


def test_a_versions_evaluation_report(api: dict[str, Call], store: Store, bundle_dirs: list[Path]) -> None:  # noqa: F811
    models.register(store, "ctr", bundle_dirs[0], project="fraud", evaluation=REPORT)
    models.register(store, "ctr", bundle_dirs[1], project="fraud")
    got = api["bob"]("GET", f"{MODELS}/ctr/versions/1/evaluation")
    assert got.status_code == 200 and got.json() == REPORT, got.text
    none = error_of(api["bob"]("GET", f"{MODELS}/ctr/versions/2/evaluation"), 404)
    assert none["message"] == ("model ctr version 2 has no evaluation: register it with "
                               "evaluation: '${evaluate.evaluation}' in the release task")
    assert "version 3" in error_of(api["bob"]("GET", f"{MODELS}/ctr/versions/3/evaluation"), 404)["message"]
    assert "nope" in error_of(api["bob"]("GET", f"{MODELS}/nope/versions/1/evaluation"), 404)["message"]
    bad = error_of(api["bob"]("GET", f"{MODELS}/ctr/versions/0/evaluation"), 422)
    assert "version" in str(bad["details"]), bad
    error_of(api["carol"]("GET", f"{MODELS}/ctr/versions/1/evaluation"), 403)
