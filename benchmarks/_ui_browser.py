"""Measuring web pages in Debian's chromium with Playwright (Python): first meaningful render,
long tasks, frame times while dragging, a node search jump.

Every page gets INIT_SCRIPT before any of its own scripts (`add_init_script`): a
PerformanceObserver of long tasks (`longtask`, buffered) and a requestAnimationFrame recorder.

- First meaningful render (`load`): `page.goto(url, wait_until="commit")`, then a condition on
  the DOM (a JS function: a row with real data, all DAG nodes measured and shown, ...) checked
  in the page on every animation frame (`wait_for_function(polling="raf")`); the first frame
  where it holds stores `performance.now()`, which counts from the navigation's start (the
  document's time origin). So the figure is navigation start -> the frame that shows the data.
- Long tasks: the observer's entries (> 50 ms, the browser's definition), split into those
  before that frame and those within `settle_ms` after it (what the page still does once shown).
- Drag (`drag`): mouse down at a point, `steps` mouse moves of a few pixels paced 16 ms apart
  (each also a round trip through Playwright's driver, so fewer arrive a second), mouse up; a
  requestAnimationFrame loop records every frame's time meanwhile. Frame time = interval between consecutive frames.
- Node search (`node_search`): a capturing keydown listener stores the time of Enter in the
  search box; the figure is from then to the first frame where the node is selected and inside
  the canvas.

Stdlib + playwright.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page

LONG_TASK_MS = 50.0
# The API calls of both systems (shoal /api/v1/..., Airflow /api/v2/... and /ui/...).
API_PATH = r"/^\/(api|ui)\//"

INIT_SCRIPT = """
(() => {
  const b = window.__bench = { longtasks: [], ready: null, enterAt: null };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) b.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) { b.longtaskError = String(e); }
  b.startFrames = () => {
    const frames = b.frames = [];
    b.recording = true;
    const tick = (t) => { frames.push(t); if (b.recording) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  };
  b.stopFrames = () => { b.recording = false; return b.frames; };
  b.visible = (el) => {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden';
  };
  // All n React Flow nodes under `root` measured and shown (React Flow hides a node until it
  // knows its size, then places it).
  b.flowNodes = (root, n) => {
    const box = typeof root === 'string' ? document.querySelector(root) : root;
    if (!box) return false;
    const nodes = box.querySelectorAll('.react-flow__node');
    if (nodes.length < n) return false;
    for (const el of nodes) if (el.style.visibility === 'hidden') return false;
    return true;
  };
})();
"""


def chromium_version(path: str) -> str | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def new_context(browser: Browser, base_url: str, init: str = "", viewport: dict[str, int] | None = None,
                ) -> BrowserContext:
    """A context of its own (its own cache and storage: its first load is cold)."""
    ctx = browser.new_context(base_url=base_url, viewport=viewport or {"width": 1400, "height": 860})
    ctx.add_init_script(INIT_SCRIPT + init)
    return ctx


class Problems:
    """Console errors, page errors and failed requests of a page: a measurement of a broken page
    is no measurement, so they are reported with it."""

    def __init__(self, page: Page) -> None:
        self.items: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.items.append(f"console: {m.text[:300]}"))
        page.on("pageerror", lambda e: self.items.append(f"page error: {str(e)[:300]}"))
        page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
                and self.items.append(f"failed: {r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.items.append(f"HTTP {r.status}: {r.url}"))

    def take(self) -> list[str]:
        out, self.items[:] = list(self.items), []
        return out


def load(page: Page, url: str, condition: str, timeout_s: float = 60.0, settle_ms: int = 1000) -> dict[str, Any]:
    """Navigate to `url` and time its first meaningful render (`condition`: a JS expression that
    is true once the page shows its data). Raises TimeoutError if it never holds."""
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    check = f"() => {{ const b = window.__bench; if (b.ready !== null) return true; if ({condition}) " \
            f"{{ b.ready = performance.now(); return true; }} return false; }}"
    page.wait_for_function(check, polling="raf", timeout=timeout_s * 1000)
    page.wait_for_timeout(settle_ms)
    facts = page.evaluate("""() => {
      const b = window.__bench, nav = performance.getEntriesByType('navigation')[0];
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return { ready: b.ready, longtasks: b.longtasks, longtaskError: b.longtaskError || null,
               response_end: nav ? nav.responseEnd : null,
               dom_content_loaded: nav ? nav.domContentLoadedEventEnd : null,
               fcp: fcp ? fcp.startTime : null, now: performance.now(),
               heap: performance.memory ? performance.memory.usedJSHeapSize : null,
               resources: performance.getEntriesByType('resource').length,
               api: performance.getEntriesByType('resource')
                 .filter((e) => API_PATH.test(new URL(e.name).pathname) && e.responseEnd <= b.ready)
                 .map((e) => ({ path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd })) };
    }""".replace("API_PATH", API_PATH))
    ready = facts["ready"]
    before = [t for t in facts["longtasks"] if t["start"] < ready]
    after = [t for t in facts["longtasks"] if t["start"] >= ready]
    return {
        "ms": round(ready, 1), "fcp_ms": _r(facts["fcp"]), "response_end_ms": _r(facts["response_end"]),
        "dom_content_loaded_ms": _r(facts["dom_content_loaded"]),
        "long_tasks": _tasks(before), "long_tasks_after": _tasks(after), "settle_ms": settle_ms,
        "js_heap_mb": round(facts["heap"] / 2**20, 1) if facts["heap"] else None, "resources": facts["resources"],
        "api": _api(facts["api"]),
        **({"longtask_error": facts["longtaskError"]} if facts["longtaskError"] else {}),
    }


def _api(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The API requests answered before the render: how many, when the last answer ended (the
    rest of the time to render is the page's own work), and the slowest."""
    if not calls:
        return {"requests": 0}
    slow = max(calls, key=lambda c: c["end"] - c["start"])
    return {"requests": len(calls), "last_response_end_ms": round(max(c["end"] for c in calls), 1),
            "slowest": {"path": slow["path"], "ms": round(slow["end"] - slow["start"], 1)}}


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


def _tasks(tasks: list[dict[str, float]]) -> dict[str, Any]:
    durations = [t["duration"] for t in tasks]
    return {"count": len(durations), "max_ms": round(max(durations), 1) if durations else 0.0,
            "total_ms": round(sum(durations), 1), "over_100ms": sum(1 for d in durations if d > 100)}


def summarize_loads(cold: dict[str, Any] | None, warm: list[dict[str, Any]]) -> dict[str, Any]:
    """Cold first load, warm loads (median and max) and the long tasks of all of them."""
    out: dict[str, Any] = {}
    if cold is not None:
        out["cold_ms"] = cold["ms"]
        out["cold"] = cold
    if warm:
        ms = [w["ms"] for w in warm]
        out["warm_ms"] = {"median": round(statistics.median(ms), 1), "max": round(max(ms), 1),
                          "min": round(min(ms), 1), "reps": ms}
        out["warm_fcp_ms_median"] = _median([w["fcp_ms"] for w in warm])
        lt = [w["long_tasks"] for w in warm]
        out["warm_long_tasks"] = {"count_median": statistics.median(x["count"] for x in lt),
                                  "max_ms": max(x["max_ms"] for x in lt),
                                  "total_ms_median": round(statistics.median(x["total_ms"] for x in lt), 1)}
        out["warm_js_heap_mb_median"] = _median([w["js_heap_mb"] for w in warm])
        # When the page had its data (the last API answer before the render), median of the warm loads.
        out["warm_api_done_ms_median"] = _median([w["api"].get("last_response_end_ms") for w in warm])
    return out


def _median(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(statistics.median(vals), 1) if vals else None


def frames_summary(frames: list[float], longtasks: list[dict[str, float]], t0: float, t1: float) -> dict[str, Any]:
    intervals = sorted(b - a for a, b in zip(frames, frames[1:], strict=False))
    during = [t for t in longtasks if t0 <= t["start"] <= t1 or t["start"] < t0 < t["start"] + t["duration"]]
    if not intervals:
        return {"frames": len(frames), "long_tasks": _tasks(during)}

    def pct(p: float) -> float:
        return round(intervals[min(len(intervals) - 1, int(round(p / 100 * (len(intervals) - 1))))], 1)

    return {"frames": len(frames), "duration_ms": round(t1 - t0, 1), "frame_ms_p50": pct(50), "frame_ms_p95": pct(95),
            "frame_ms_max": round(intervals[-1], 1), "frames_over_50ms": sum(1 for i in intervals if i > 50),
            "long_tasks": _tasks(during)}


def drag(page: Page, start: tuple[float, float], steps: int = 60, dx: float = 4.0, dy: float = 1.5,
         pace_s: float = 0.016, check: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Press the mouse at `start`, move it `steps` times by (dx, dy), release; frame times and
    long tasks meanwhile. `check()` (run after) tells whether the drag did what it should."""
    x, y = start
    page.mouse.move(x, y)
    page.evaluate("() => window.__bench.startFrames()")
    page.wait_for_timeout(100)  # a few idle frames first: the recorder runs
    t0 = page.evaluate("() => performance.now()")
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(x + dx * i, y + dy * i)
        time.sleep(pace_s)
    page.mouse.up()
    t1 = page.evaluate("() => performance.now()")
    page.wait_for_timeout(100)
    data = page.evaluate("() => ({ frames: window.__bench.stopFrames(), longtasks: window.__bench.longtasks })")
    frames = [f for f in data["frames"] if t0 <= f <= t1 + 50]
    out = frames_summary(frames, data["longtasks"], t0, t1)
    out["moves"] = steps
    # How fast the moves really came (each is a round trip through Playwright's driver): on a
    # loaded box, slower than a hand's 60-120 a second.
    out["moves_per_s"] = round(steps / ((t1 - t0) / 1000), 1) if t1 > t0 else None
    if check is not None:
        out["check"] = check()
    return out


def summarize_drags(drags: list[dict[str, Any]]) -> dict[str, Any]:
    if not drags:
        return {}
    keys = ("frame_ms_p50", "frame_ms_p95", "frame_ms_max")
    out: dict[str, Any] = {k: round(statistics.median(d[k] for d in drags if k in d), 1) for k in keys}
    out["frame_ms_max_of_all"] = max(d.get("frame_ms_max", 0) for d in drags)
    out["long_task_max_ms"] = max(d["long_tasks"]["max_ms"] for d in drags)
    out["long_tasks_over_100ms"] = sum(d["long_tasks"]["over_100ms"] for d in drags)
    out["reps"] = drags
    return out


def empty_pane_point(page: Page, root: str) -> tuple[float, float]:
    """A point of the React Flow pane under `root` with no node, edge or control on it (to pan)."""
    pt = page.evaluate("""(root) => {
      const box = document.querySelector(root).querySelector('.react-flow');
      const r = box.getBoundingClientRect();
      for (let fy = 0.05; fy < 0.95; fy += 0.05) for (let fx = 0.03; fx < 0.6; fx += 0.03) {
        const x = r.left + r.width * fx, y = r.top + r.height * fy;
        const el = document.elementFromPoint(x, y);
        if (el && el.classList.contains('react-flow__pane')) return [x, y];
      }
      return null;
    }""", root)
    if pt is None:
        raise RuntimeError(f"no empty point of the canvas {root} to drag from")
    return float(pt[0]), float(pt[1])


def viewport_transform(page: Page, root: str) -> str:
    return page.evaluate("(root) => document.querySelector(root).querySelector('.react-flow__viewport')"
                         ".style.transform", root)


def node_search(page: Page, name: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """Type `name` in the editor's node search, press Enter; ms until that node is selected and
    inside the canvas."""
    box = page.get_by_test_id("node-search")
    box.fill("")
    box.fill(name)
    page.evaluate("""() => {
      const b = window.__bench; b.enterAt = null; b.found = null;
      document.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' && e.target.closest('[data-testid="node-search"]')) b.enterAt = performance.now();
      }, { capture: true, once: true });
    }""")
    box.press("Enter")
    page.wait_for_function("""(name) => {
      const b = window.__bench;
      if (b.found !== null) return true;
      if (b.enterAt === null) return false;
      const canvas = document.querySelector('[data-testid="editor-canvas"]');
      // The task's node: React Flow's wrapper of its `task-node-<name>` (whatever the node's id).
      const inner = canvas && canvas.querySelector(`[data-testid="task-node-${CSS.escape(name)}"]`);
      const node = inner && inner.closest('.react-flow__node');
      if (!node || !node.classList.contains('selected')) return false;
      const c = canvas.getBoundingClientRect(), n = node.getBoundingClientRect();
      if (n.left < c.left || n.right > c.right || n.top < c.top || n.bottom > c.bottom) return false;
      b.found = performance.now();
      return true;
    }""", arg=name, polling="raf", timeout=timeout_s * 1000)
    t = page.evaluate("() => ({ enter: window.__bench.enterAt, found: window.__bench.found, "
                      "longtasks: window.__bench.longtasks })")
    during = [x for x in t["longtasks"] if x["start"] >= t["enter"] - 1]
    return {"task": name, "ms": round(t["found"] - t["enter"], 1), "long_tasks": _tasks(during)}
