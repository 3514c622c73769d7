"""The web UI in a real browser: first meaningful render of its pages on a big database, frame times
while dragging on a 200-task canvas, the editor's node search; and Airflow 3's UI on the same DAG.

One run, on this machine, loopback only (issue 16):
1. seeds a scratch database (a SQLite SHOAL_HOME; `--postgres`: a throwaway PostgreSQL database,
   dropped at the end) through the service layer and in bulk (benchmarks/_ui_seed.py): 1,000
   workflows of 20 shell tasks in 4 projects (one in four with a schedule), 10,000 ended runs of
   them with their task runs (the states and times of `_api_history.plan`, as api.py), and one
   200-task ML workflow (sql, switch, dataset, preprocess, train, evaluate, condition, shell; fan-out
   and fan-in) with one finished run of it: 200 task runs with states and times;
2. starts `shoal server` on it (API + scheduler; the history holds no run it would act on);
3. the anchor, unless --no-anchor: Airflow 3 (benchmarks/_ui_airflow.py: the API benchmark's venv,
   SQLite, `airflow api-server`, which serves its React UI, simple auth manager, a password) with
   the same 200-task DAG (same task ids and edges), one finished run of it with the same states and
   times, and a history of --runs dag runs over the API benchmark's four DAGs;
4. drives Debian's chromium (headless, Playwright's Python package) and times each page's first
   meaningful render: navigation start -> the first animation frame showing its data
   (benchmarks/_ui_browser.py). Each page once cold (a new browser context: empty cache, then the
   page) and --warm times warm (the same context: cached scripts, a full new page load each time),
   the pages of both systems interleaved, round by round. Long tasks (> 50 ms) of each load.
   Pages, with what "rendered" means:
     shoal workflows_list  /workflows                  the first workflow row shown
     shoal runs_list       /runs                       the first run row shown
     shoal workflow_dag    /workflows/ads/ml_pipeline  all 200 DAG nodes measured and shown
     shoal run_view        /runs/ads/<id>              all 200 DAG nodes and the 200 Gantt rows
     shoal editor          /workflows/ads/ml_pipeline/edit   all 200 canvas nodes (when the build has it)
     airflow graph_view    /dags/ml_pipeline (graph view)    all 200 nodes
     airflow run_graph     /dags/ml_pipeline/runs/<run>      all 200 nodes, coloured by state
     airflow dag_runs_list /dag_runs                   the first dag run row shown
5. drags: the editor's node drag (mouse down on a node, 60 moves, up), and pans of the run view's,
   the workflow page's and Airflow's graph canvases (the same drag from an empty point of the
   canvas), --drags times each: frame times p50/p95/max and long tasks during the drag;
6. the editor's node search (`node-search`, Enter): ms until the node is selected and in view.
   The editor figures read `"skipped": "no editor route in this build"` when the build has none.

Targets (issue 16): lists < 1 s, editor and run view < 1.5 s (read here on the cold load and the
warm median, both), no long task > 100 ms while dragging (on the editor's node drag).

Prints ONE JSON line and writes benchmarks/results/ui.json; progress on stderr. The browser, the
servers and the database share the 2-core box: read the ratios of one run (Airflow / shoal).

Usage: python benchmarks/ui.py [--workflows 1000] [--runs 10000] [--tasks 200] [--warm 5] [--drags 3]
       [--postgres] [--no-anchor] [--no-write] [--port 8715] [--airflow-port 8716]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "ui.json"
sys.path.insert(0, str(BENCH))
import _machine  # noqa: E402 - the benchmarks dir is not a package on sys.path
import _serving_load as servers  # noqa: E402
import _ui_browser as ub  # noqa: E402
import _ui_seed as seed  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1400, "height": 860}
TARGETS_MS = {"workflows_list": 1000.0, "runs_list": 1000.0, "editor": 1500.0, "run_view": 1500.0}
DRAG_LONG_TASK_MAX_MS = 100.0
NO_EDITOR = "no editor route in this build"
# A page that has not rendered by then counts as failed (reported in its `problems`). Generous:
# on this shared box at a load average of 15, Airflow's run graph took up to a minute.
LOAD_TIMEOUT_S = 180.0


def log(msg: str) -> None:
    print(f"[ui {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class PageSpec:
    """One page to time: where it is, what "rendered" means (a JS expression), who serves it."""

    system: str
    key: str
    url: str
    condition: str
    base: str
    setup: Callable[[Any], None]  # prepares a new browser context (log in)
    cold: dict[str, Any] | None = None
    warm: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ctx: Any = None
    page: Any = None
    watch: Any = None


# ------------------------------------------------------------------------------------- servers


def start_shoal(home: Path, db_url: str | None, port: int) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env["SHOAL_HOME"] = str(home)
    if db_url:
        env["SHOAL_DB_URL"] = db_url
    argv = [str(Path(sys.executable).parent / "shoal"), "server", "--port", str(port)]
    proc = servers.start_server(argv, env, port, name="shoal-server-ui")
    ready = servers.wait_ready(f"http://127.0.0.1:{port}/health", timeout=120, proc=proc)
    log(f"shoal server ready in {ready:.1f}s (port {port})")
    return proc


def api_get(base: str, path: str, token: str) -> Any:
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def check_shoal(base: str, token: str, seeded: dict[str, Any], n_tasks: int) -> dict[str, Any]:
    """The pages will show what the benchmark means to time (and the server's first requests,
    untimed, warm its process: "cold" below is the browser's cache, not the server's)."""
    wfs = api_get(base, "/api/v1/workflows", token)
    runs = api_get(base, "/api/v1/runs", token)
    run = api_get(base, f"/api/v1/projects/{seed.BIG_PROJECT}/runs/{seeded['big_run']}", token)
    assert len(run["tasks"]) == n_tasks and run["state"] == "success", {k: run[k] for k in ("state", "id")}
    assert wfs["items"] and runs["items"], "empty lists"
    return {"workflows_page_items": len(wfs["items"]), "runs_page_items": len(runs["items"]),
            "run_view_tasks": len(run["tasks"]), "run_bytes": len(json.dumps(run))}


# -------------------------------------------------------------------------------------- pages


def shoal_pages(base: str, token: str, big_run: int, n: int) -> list[PageSpec]:
    def setup(ctx: Any) -> None:  # the token where the UI keeps it: the app starts signed in
        # (not on about:blank, between measurements: it has no storage)
        ctx.add_init_script(f"if (location.protocol === 'http:') "
                            f"localStorage.setItem('shoal.token', {json.dumps(token)});")

    p, name = seed.BIG_PROJECT, seed.BIG_NAME
    dag = f"b.flowNodes('[data-testid=\"dag\"]', {n})"
    return [
        PageSpec("shoal", "workflows_list", "/workflows",
                 "b.visible(document.querySelector('[data-testid^=\"workflow-row-\"]'))", base, setup),
        PageSpec("shoal", "runs_list", "/runs",
                 "b.visible(document.querySelector('[data-testid^=\"runs-row-\"]'))", base, setup),
        PageSpec("shoal", "workflow_dag", f"/workflows/{p}/{name}", dag, base, setup),
        PageSpec("shoal", "run_view", f"/runs/{p}/{big_run}",
                 f"{dag} && document.querySelectorAll('[data-testid^=\"gantt-row-\"]').length >= {n}", base, setup),
        PageSpec("shoal", "editor", f"/workflows/{p}/{name}/edit",
                 f"b.flowNodes('[data-testid=\"editor-canvas\"]', {n})", base, setup),
    ]


def airflow_pages(site: Any, n: int) -> list[PageSpec]:
    token = site.headers["Authorization"].removeprefix("Bearer ")

    def setup(ctx: Any) -> None:
        # Signed in as the login form leaves the browser (the JWT in the `_token` cookie), and
        # the DAG page set to its graph view (what its toggle stores).
        ctx.add_cookies([{"name": "_token", "value": token, "url": site.base}])
        ctx.add_init_script("if (location.protocol === 'http:') localStorage.setItem('default_dag_view', '\"graph\"');")

    dag = site.spec["name"]
    run = urllib.parse.quote(site.big_run_id, safe="")
    return [
        PageSpec("airflow", "graph_view", f"/dags/{dag}", f"b.flowNodes('body', {n})", site.base, setup),
        PageSpec("airflow", "run_graph", f"/dags/{dag}/runs/{run}",
                 f"b.flowNodes('body', {n}) && document.querySelectorAll('.react-flow__node [data-testid], "
                 f".react-flow__node').length >= {n}", site.base, setup),
        PageSpec("airflow", "dag_runs_list", "/dag_runs",
                 "b.visible(document.querySelector('td[data-testid=\"table-cell-dag_run_id\"] a'))", site.base, setup),
    ]


def open_page(browser: Any, spec: PageSpec) -> None:
    spec.ctx = ub.new_context(browser, spec.base, viewport=VIEWPORT)
    spec.setup(spec.ctx)
    spec.page = spec.ctx.new_page()
    spec.watch = ub.Problems(spec.page)


def editor_present(browser: Any, spec: PageSpec) -> bool:
    """Whether this build has the editor route: its canvas shows, or the app's "No such page"."""
    ctx = ub.new_context(browser, spec.base, viewport=VIEWPORT)
    try:
        spec.setup(ctx)
        page = ctx.new_page()
        page.goto(spec.url, wait_until="commit")
        page.wait_for_function("() => document.querySelector('[data-testid=\"editor-canvas\"]') || "
                               "[...document.querySelectorAll('.empty h3')].some((h) => /no such page/i.test("
                               "h.textContent))", polling="raf", timeout=60_000)
        return bool(page.evaluate("() => !!document.querySelector('[data-testid=\"editor-canvas\"]')"))
    finally:
        ctx.close()


def measure_loads(browser: Any, specs: list[PageSpec], warm: int) -> None:
    """Round 0: each page cold, in a new context; rounds 1..warm: again in the same context. The
    pages of both systems take turns, in an order that rotates each round."""
    for r in range(warm + 1):
        order = specs[r % len(specs):] + specs[:r % len(specs)]
        for spec in order:
            if r == 0:
                open_page(browser, spec)
            try:
                res = ub.load(spec.page, spec.url, spec.condition, timeout_s=LOAD_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - a page that never renders is reported, not fatal
                spec.problems.append(f"round {r}: {exc!r}"[:500])
                log(f"{spec.system} {spec.key}: round {r} failed: {exc!r}"[:300])
                rest(spec)
                continue
            res["loadavg_1m"] = round(os.getloadavg()[0], 2)
            rest(spec)
            if r == 0:
                spec.cold = res
            else:
                spec.warm.append(res)
            spec.problems += spec.watch.take()
            log(f"{spec.system:>7} {spec.key:<15} {'cold' if r == 0 else f'warm {r}'}: {res['ms']:7.1f} ms, "
                f"long tasks {res['long_tasks']['count']} (max {res['long_tasks']['max_ms']} ms)")


def rest(spec: PageSpec) -> None:
    """Leave the page for a blank one (the context keeps its cache): a page left open keeps
    working (Airflow's refreshes its DAG and runs every few seconds, shoal's runs list every
    15 s) and would take CPU from every other measurement."""
    spec.page.goto("about:blank")


def page_result(spec: PageSpec) -> dict[str, Any]:
    out = {"url": spec.url, **ub.summarize_loads(spec.cold, spec.warm)}
    if spec.problems:
        out["problems"] = spec.problems[:10]
    return out


# -------------------------------------------------------------------------------- interactions


def pans(spec: PageSpec, root: str, reps: int) -> dict[str, Any]:
    """Drag the canvas from an empty point (a pan), `reps` times, on a freshly loaded page."""
    ub.load(spec.page, spec.url, spec.condition, timeout_s=LOAD_TIMEOUT_S, settle_ms=1500)
    out = []
    for _ in range(reps):
        before = ub.viewport_transform(spec.page, root)
        pt = ub.empty_pane_point(spec.page, root)
        d = ub.drag(spec.page, pt, check=lambda b=before: ub.viewport_transform(spec.page, root) != b)
        if not d.get("check"):
            raise RuntimeError(f"dragging the canvas of {spec.url} did not move it")
        out.append(d)
        spec.page.wait_for_timeout(500)
    spec.problems += spec.watch.take()
    rest(spec)
    return ub.summarize_drags(out)


def editor_drags(spec: PageSpec, reps: int) -> dict[str, Any]:
    """Mouse down on the node nearest the canvas centre, 60 moves, up; the node must have moved."""
    ub.load(spec.page, spec.url, spec.condition, timeout_s=LOAD_TIMEOUT_S, settle_ms=1500)
    out = []
    for _ in range(reps):
        found = spec.page.evaluate("""() => {
          const c = document.querySelector('[data-testid="editor-canvas"]').getBoundingClientRect();
          const cx = c.left + c.width / 2, cy = c.top + c.height / 2;
          let best = null, dist = Infinity;
          for (const el of document.querySelectorAll('[data-testid="editor-canvas"] .react-flow__node')) {
            const r = el.getBoundingClientRect();
            const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy);
            if (d < dist) {
              dist = d;
              const task = el.querySelector('[data-testid^="task-node-"]');
              best = [el.dataset.id, task ? task.dataset.testid.slice(10) : el.dataset.id,
                      r.left + r.width / 2, r.top + r.height / 2, el.style.transform];
            }
          }
          return best;
        }""")
        node_id, name, x, y, before = found
        sel = f'[data-testid="editor-canvas"] .react-flow__node[data-id="{node_id}"]'

        def moved(sel: str = sel, before: str = before) -> bool:
            return spec.page.evaluate("(s) => document.querySelector(s).style.transform", sel) != before

        d = ub.drag(spec.page, (x, y), check=moved)
        d["node"] = name
        if not d.get("check"):
            raise RuntimeError(f"dragging the node {name} in the editor did not move it")
        out.append(d)
        spec.page.wait_for_timeout(500)
    spec.problems += spec.watch.take()
    rest(spec)
    return ub.summarize_drags(out)


def search_jumps(spec: PageSpec, names: list[str]) -> dict[str, Any]:
    ub.load(spec.page, spec.url, spec.condition, timeout_s=LOAD_TIMEOUT_S, settle_ms=1500)
    out = []
    for name in names:
        out.append(ub.node_search(spec.page, name))
        spec.page.wait_for_timeout(300)
    ms = [x["ms"] for x in out]
    spec.problems += spec.watch.take()
    rest(spec)
    return {"median_ms": round(statistics.median(ms), 1), "max_ms": max(ms),
            "long_task_max_ms": max(x["long_tasks"]["max_ms"] for x in out), "reps": out}


def search_targets(big: dict[str, Any]) -> list[str]:
    """Five tasks spread over the DAG: the last, one late, one in the middle, one early, the first."""
    names = [t["name"] for t in big["tasks"]]
    picks = [names[-1], names[len(names) * 4 // 5], names[len(names) // 2], names[len(names) // 5], names[1]]
    return list(dict.fromkeys(picks))


def interact(pages: dict[str, PageSpec], drags: int, big: dict[str, Any], has_editor: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"drag": {}, "node_search": None}
    jobs: list[tuple[str, str, Callable[[], dict[str, Any]]]] = []
    if has_editor:
        jobs.append(("drag", "shoal_editor_node", lambda: editor_drags(pages["shoal/editor"], drags)))
    jobs += [
        ("drag", "shoal_run_view_pan", lambda: pans(pages["shoal/run_view"], '[data-testid="dag"]', drags)),
        ("drag", "shoal_workflow_dag_pan", lambda: pans(pages["shoal/workflow_dag"], '[data-testid="dag"]', drags)),
    ]
    if "airflow/graph_view" in pages:
        jobs += [("drag", "airflow_graph_view_pan", lambda: pans(pages["airflow/graph_view"], "body", drags)),
                 ("drag", "airflow_run_graph_pan", lambda: pans(pages["airflow/run_graph"], "body", drags))]
    if has_editor:
        jobs.append(("search", "", lambda: search_jumps(pages["shoal/editor"], search_targets(big))))
    else:
        out["drag"]["shoal_editor_node"] = {"skipped": NO_EDITOR}
        out["node_search"] = {"skipped": NO_EDITOR}
    for kind, key, job in jobs:
        try:
            res = job()
        except Exception as exc:  # noqa: BLE001 - one broken interaction must not lose the rest
            traceback.print_exc()
            res = {"error": repr(exc)[:500]}
        if kind == "drag":
            out["drag"][key] = res
            log(f"drag {key}: p50 {res.get('frame_ms_p50')} p95 {res.get('frame_ms_p95')} max "
                f"{res.get('frame_ms_max_of_all')} ms, long task max {res.get('long_task_max_ms')} ms "
                f"{res.get('error', '')}")
        else:
            out["node_search"] = res
            log(f"node search: median {res.get('median_ms')} ms, max {res.get('max_ms')} ms {res.get('error', '')}")
    return out


# --------------------------------------------------------------------------------- the anchor


def start_airflow(stack: contextlib.ExitStack, tmp: Path, runs: int, big: dict[str, Any], port: int,
                  result: dict[str, Any]) -> Any:
    """The Airflow anchor, or None (and `anchor` says why) if it cannot be stood up."""
    import _api_airflow as af
    import _ui_airflow as uaf

    t0 = time.perf_counter()
    try:
        venv = af.ensure_venv()
        result["anchor"] = {"airflow": af.versions(venv)}
        site = uaf.UiSite(venv, tmp / "airflow", runs, big, port=port)
        stack.callback(site.stop)
        log(f"airflow: preparing the 200-task DAG and {runs:,} runs")
        result["anchor"]["history"] = site.prepare()
        result["anchor"]["setup_s"] = round(time.perf_counter() - t0, 1)
        return site
    except Exception as exc:  # noqa: BLE001 - the anchor is optional: say why, measure shoal
        traceback.print_exc()
        result["anchor"] = {"airflow": None, "why": f"could not stand up Airflow: {exc!r}"[:2000]}
        return None


# -------------------------------------------------------------------------------- the verdict


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def ratios(sh: dict[str, Any], sh_drags: dict[str, Any], afl: dict[str, Any] | None,
           afl_drags: dict[str, Any]) -> dict[str, Any]:
    """Airflow / shoal on the like-for-like pages and pans (> 1: shoal is faster)."""
    if not afl:
        return {}
    out: dict[str, Any] = {}
    for a_key, s_key in (("graph_view", "workflow_dag"), ("run_graph", "run_view"), ("dag_runs_list", "runs_list")):
        a, s = afl.get(a_key, {}), sh.get(s_key, {})
        out[f"{a_key}_over_{s_key}"] = {
            "cold": _ratio(a.get("cold_ms"), s.get("cold_ms")),
            "warm_median": _ratio(a.get("warm_ms", {}).get("median"), s.get("warm_ms", {}).get("median"))}
    for a_key, s_key in (("airflow_graph_view_pan", "shoal_workflow_dag_pan"),
                         ("airflow_run_graph_pan", "shoal_run_view_pan")):
        a, s = afl_drags.get(a_key, {}), sh_drags.get(s_key, {})
        out[f"{a_key}_over_{s_key}"] = {k: _ratio(a.get(k), s.get(k)) for k in ("frame_ms_p95", "frame_ms_max")}
    return out


def targets_met(pages: dict[str, Any], drags: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, limit in TARGETS_MS.items():
        p = pages.get(key, {})
        if "skipped" in p or "cold_ms" not in p or "warm_ms" not in p:
            out[f"{key}_under_{int(limit)}ms"] = None
            continue
        out[f"{key}_under_{int(limit)}ms"] = p["cold_ms"] < limit and p["warm_ms"]["median"] < limit
    d = drags.get("shoal_editor_node", {})
    out["editor_drag_no_long_task_over_100ms"] = (d["long_task_max_ms"] <= DRAG_LONG_TASK_MAX_MS
                                                  if "long_task_max_ms" in d else None)
    known = [v for v in out.values() if v is not None]
    out["all_measured_met"] = all(known) if known else None
    return out


# ---------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workflows", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=10_000, help="runs of history (and dag runs for Airflow)")
    ap.add_argument("--tasks", type=int, default=200, help="tasks of the big workflow")
    ap.add_argument("--warm", type=int, default=5, help="warm loads of each page after the cold one")
    ap.add_argument("--drags", type=int, default=3, help="drags of each canvas")
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL (SHOAL_BENCH_PG_URL's server), not SQLite")
    ap.add_argument("--no-anchor", action="store_true", help="shoal only: no Airflow")
    ap.add_argument("--no-write", action="store_true", help="print the JSON line only")
    ap.add_argument("--port", type=int, default=8715, help="shoal server's port")
    ap.add_argument("--airflow-port", type=int, default=8716)
    args = ap.parse_args(argv)

    result: dict[str, Any] = {
        "benchmark": "ui",
        "machine": _machine.machine_facts(("shoal", "playwright", "sqlalchemy")),
        "config": {"workflows": args.workflows, "runs": args.runs, "tasks": args.tasks, "warm": args.warm,
                   "drags": args.drags, "drag_moves": 60, "backend": "postgresql" if args.postgres else "sqlite",
                   "browser": {"chromium": ub.chromium_version(CHROMIUM), "headless": True, "viewport": VIEWPORT,
                               "gpu": "none: headless, software rasterizing on the same 2 cores"},
                   "long_task_ms": ub.LONG_TASK_MS,
                   "targets": {"lists_ms": 1000, "editor_and_run_view_ms": 1500,
                               "drag_long_task_max_ms": DRAG_LONG_TASK_MAX_MS,
                               "read_on": "the cold load and the warm median, both"}},
    }
    status = 0
    with contextlib.ExitStack() as stack:
        try:
            from playwright.sync_api import sync_playwright

            from shoal.config import Settings
            from shoal.store import open_store

            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shoal-bench-ui-")))
            home = tmp / "home"
            db_url = None
            if args.postgres:
                import api as api_bench

                db_url = stack.enter_context(api_bench.scratch_database(f"shoal_bench_ui_{os.getpid()}"))
            log(f"seeding: {args.workflows:,} workflows, {args.runs:,} runs, a {args.tasks}-task workflow "
                f"({result['config']['backend']})")
            store = open_store(Settings(home=home, **({"db_url": db_url} if db_url else {})))
            try:
                seeded = seed.seed(store, args.workflows, args.runs, args.tasks, log)
            finally:
                store.close()
            big, token = seeded.pop("big_spec"), seeded.pop("token")
            result["seed"] = seeded
            log(f"  {seeded['workflows']:,} workflows, {seeded['runs']:,} runs, {seeded['task_runs']:,} task runs "
                f"in {seeded['seed_s']} s")
            proc = start_shoal(home, db_url, args.port)
            stack.callback(servers.stop_server, proc)
            base = f"http://127.0.0.1:{args.port}"
            result["seed"]["answers"] = check_shoal(base, token, seeded, args.tasks)
            site = None
            if args.no_anchor:
                result["anchor"] = {"airflow": None, "why": "--no-anchor"}
            else:
                site = start_airflow(stack, tmp, args.runs, big, args.airflow_port, result)
            pw = stack.enter_context(sync_playwright())
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-dev-shm-usage"])
            stack.callback(browser.close)
            specs = shoal_pages(base, token, seeded["big_run"], args.tasks)
            editor = next(s for s in specs if s.key == "editor")
            has_editor = editor_present(browser, editor)
            log(f"editor route: {'yes' if has_editor else 'no (' + NO_EDITOR + ')'}")
            result["config"]["editor_route"] = has_editor
            if not has_editor:
                specs.remove(editor)
            if site is not None:
                specs += airflow_pages(site, args.tasks)
            result["loadavg_before_measuring"] = list(os.getloadavg())
            measure_loads(browser, specs, args.warm)
            pages = {f"{s.system}/{s.key}": s for s in specs}
            result["shoal"] = {"pages": {s.key: page_result(s) for s in specs if s.system == "shoal"}}
            if not has_editor:
                result["shoal"]["pages"]["editor"] = {"url": editor.url, "skipped": NO_EDITOR}
            if site is not None:
                result["anchor"]["pages"] = {s.key: page_result(s) for s in specs if s.system == "airflow"}
            log("drags and the node search")
            done = interact(pages, args.drags, big, has_editor)
            anchor_drags = {k: v for k, v in done["drag"].items() if k.startswith("airflow_")}
            done["drag"] = {k: v for k, v in done["drag"].items() if k not in anchor_drags}
            result["shoal"]["interactions"] = done
            if site is not None:
                result["anchor"]["drag"] = anchor_drags
            for s in specs:  # problems found during the interactions too
                if s.problems:
                    result["anchor" if s.system == "airflow" else "shoal"]["pages"][s.key]["problems"] = s.problems[:10]
            result["ratios_airflow_over_shoal"] = ratios(result["shoal"]["pages"], done["drag"],
                                                         result["anchor"].get("pages"), anchor_drags)
            result["targets_met"] = targets_met(result["shoal"]["pages"], result["shoal"]["interactions"]["drag"])
            for ctx in {id(s.ctx): s.ctx for s in specs if s.ctx is not None}.values():
                ctx.close()
        except Exception as exc:  # noqa: BLE001 - the JSON says what failed
            traceback.print_exc()
            result["error"] = repr(exc)[:2000]
            status = 2
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    _machine.emit(result, RESULT_FILE, write=not args.no_write and status == 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
