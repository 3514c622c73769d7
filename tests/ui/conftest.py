"""The web UI in a real browser: Debian's chromium (installed by `make setup` through apt),
driven by Playwright's Python package, against a real `shoal server` on a scratch home.

Every page the tests open fails them on a console error or a failed request. Screenshots go
to the test's folder; with SHOAL_SCREENSHOTS=docs/images they are also written there (how the
README's pictures are made: `SHOAL_SCREENSHOTS=docs/images .venv/bin/python -m pytest tests/ui`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from shoal.api.pages import UI_DIR
from tests.api.conftest import Server

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _require(what: bool, why: str) -> None:
    if not what:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{why} (CI runs every test: `make setup` installs it)")
        pytest.skip(why)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _require(CHROMIUM is not None, "no chromium on this machine (`apt-get install chromium`)")
    _require((UI_DIR / "index.html").is_file(), "the web UI is not built (`make setup`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("ui-server"))
    yield s
    s.kill()


def _closed_stream(request: Any) -> bool:
    """A read the page itself called off: a live stream it no longer shows (a run's events, a
    log followed) or a search superseded by the next keystroke. The browser reports those as
    aborted; they are the page's decision, not a failure."""
    return "ERR_ABORTED" in (request.failure or "") and request.method == "GET"


class Watched:
    """A page whose console errors and failed requests are collected (the test asserts none)."""

    def __init__(self, page: Any, shots: Path) -> None:
        self.page, self.shots, self.problems = page, shots, []
        self.allowed: set[int] = set()  # statuses a test provokes on purpose (a wrong token: 401)
        # The browser logs a refused request as a console error too: those count once, below.
        page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
                and self.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: not _closed_stream(r)
                and self.problems.append(f"failed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and r.status not in self.allowed
                and self.problems.append(f"HTTP {r.status}: {r.url}"))

    def shot(self, name: str) -> None:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        if out := os.environ.get("SHOAL_SCREENSHOTS"):
            Path(out).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(out) / path.name)


@pytest.fixture
def open_page(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """`open_page(base_url)`: a new browser context (its own storage: its own login) and page."""
    watched: list[Watched] = []
    contexts: list[Any] = []

    def open_(base_url: str) -> Watched:
        context = browser.new_context(base_url=base_url, viewport={"width": 1400, "height": 860})
        contexts.append(context)
        w = Watched(context.new_page(), tmp_path)
        watched.append(w)
        return w

    yield open_
    for c in contexts:
        c.close()
    problems = [p for w in watched for p in w.problems]
    assert not problems, "\n".join(problems)


def token_of(server: Server) -> str:
    """The first admin's token, which `shoal server` printed."""
    return server.api.headers["Authorization"].removeprefix("Bearer ")


def viewer_token(server: Server, user: str, project: str) -> str:
    """A token of a new user who is a viewer of `project`."""
    api = server.api
    api.post("/api/v1/users", json={"name": user}).raise_for_status()
    api.put(f"/api/v1/projects/{project}/members", json={"user": user, "role": "viewer"}).raise_for_status()
    return api.post("/api/v1/tokens", json={"user": user}).json()["token"]


def log_in(w: Watched, token: str) -> None:
    w.page.goto("/")
    w.page.get_by_test_id("login-token").fill(token)
    w.page.get_by_test_id("login-submit").click()
    expect(w.page.get_by_test_id("whoami")).to_be_visible()
