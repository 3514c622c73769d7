"""The web UI's files at `/`: the page's own routes answer index.html, built assets are cached
for good, the API's paths stay the API's, and nothing outside the built folder is served."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from shoal.api import pages
from shoal.api.app import create_app
from shoal.store import Store
from tests.api.conftest import error_of


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ui = tmp_path / "ui"
    (ui / "assets").mkdir(parents=True)
    (ui / "index.html").write_text("<!doctype html><div id=root></div>")
    (ui / "assets" / "index-abc123.js").write_text("console.log(1)")
    (ui / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("not for the web")
    monkeypatch.setattr(pages, "UI_DIR", ui)
    return ui


def test_the_pages_routes_answer_the_page_and_assets_are_cached(store: Store, built: Path) -> None:
    client = TestClient(create_app(store))
    for path in ("/", "/workflows", "/runs/default/7", "/login?next=/runs"):
        page = client.get(path)
        assert page.status_code == 200 and "<div id=root>" in page.text, path
        assert page.headers["cache-control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert client.get("/favicon.svg").text == "<svg/>"
    assert client.get("/assets/missing.js").status_code == 404
    for sneaky in ("/..%2Fsecret.txt", "/%2e%2e/secret.txt", "/assets/..%2F..%2Fsecret.txt"):
        assert "not for the web" not in client.get(sneaky).text, sneaky


def test_the_apis_paths_stay_the_apis(store: Store, built: Path) -> None:
    client = TestClient(create_app(store))
    assert error_of(client.get("/api/v1/no-such-thing"), 404)["code"] == "not_found"
    assert error_of(client.get("/api"), 404)["code"] == "not_found"
    assert client.get("/health").json()["status"] == "ok"
    assert "openapi" in client.get("/openapi.json").json()
    assert "/{path}" not in client.get("/openapi.json").json()["paths"]
    assert error_of(client.post("/api/v1/no-such-thing"), 404)["code"] == "not_found"
    assert error_of(client.post("/health"), 405)["code"] == "method_not_allowed"


def test_without_a_built_ui_the_page_says_how_to_build_it(store: Store, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "UI_DIR", tmp_path / "nothing")
    page = TestClient(create_app(store)).get("/")
    assert page.status_code == 200 and "make setup" in page.text
