"""`shoal model ...`: the model registry — versions, aliases, release, rollback — and `shoal serve`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from shoal.cli._common import console, fmt_time, handle_errors, plain, print_json, store
from shoal.registry import DEFAULT_ALIAS, Registry
from shoal.store.projects import DEFAULT_PROJECT

app = typer.Typer(no_args_is_help=True, help="Model registry: versions, aliases, release, rollback.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project of the model")]
AliasOpt = Annotated[str, typer.Option("--alias", help="the serving alias to move")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _registry(project: str) -> Registry:
    return Registry(store(), project)


def _metrics(metrics: dict[str, object]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


@app.command("list")
@handle_errors
def list_(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List models with their latest version and aliases."""
    infos = _registry(project).models()
    if json_out:
        print_json([i.to_json() for i in infos])
        return
    t = Table()
    for c in ("model", "latest", "aliases", "created"):
        t.add_column(c)
    for i in infos:
        aliases = ", ".join(f"{a}→v{v}" for a, v in sorted(i.aliases.items())) or "-"
        t.add_row(plain(i.name), f"v{i.latest_version}" if i.latest_version else "-", plain(aliases),
                  fmt_time(i.created_at))
    console.print(t)


@app.command("versions")
@handle_errors
def versions(name: str, project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List a model's versions with their metrics and aliases."""
    vs = _registry(project).versions(name)
    if json_out:
        print_json([v.to_json() for v in vs])
        return
    t = Table()
    for c in ("version", "aliases", "flavor", "feature set", "metrics", "run", "created"):
        # In a narrow terminal the metrics and names fold onto more lines rather than end in "…".
        t.add_column(c, **({"no_wrap": True} if c in ("version", "aliases", "run") else {"overflow": "fold"}))
    for v in vs:
        fs = f"{v.feature_set} v{v.feature_set_version}" if v.feature_set else "-"
        t.add_row(str(v.version), plain(", ".join(v.aliases) or "-"), plain(v.flavor), plain(fs),
                  plain(_metrics(v.metrics)), str(v.run_id or "-"), fmt_time(v.created_at))
    console.print(t)


@app.command("show")
@handle_errors
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", help="a version (default: latest)")] = None,
    alias: Annotated[str | None, typer.Option("--alias", help="the version an alias points at")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Show one version: artifact, preprocessing, signature, metrics, provenance, release history."""
    reg = _registry(project)
    mv = reg.get(name, version=version, alias=alias)
    doc = {**mv.to_json(), "history": [r.to_json() for r in reg.history(name)]}
    if json_out:
        print_json(doc)
        return
    console.print(f"[bold]{escape(name)}[/bold] version {mv.version} ({escape(mv.flavor)})  "
                  f"aliases: {escape(', '.join(mv.aliases) or '-')}")
    # Everything below comes from the bundle and the user: print it as text, not markup.
    console.print(f"artifact: {mv.artifact_uri}", markup=False)
    if mv.feature_set:
        console.print(f"feature set: {mv.feature_set} v{mv.feature_set_version}", markup=False)
    console.print(f"inputs: {json.dumps(mv.signature.get('inputs', {}))}", markup=False)
    console.print(f"features: {', '.join(mv.signature.get('features', []))}", markup=False)
    steps = [s.get("type") for s in (mv.preprocess or {}).get("steps", [])]
    console.print(f"preprocessing: {' → '.join(str(s) for s in steps) or 'none'}", markup=False)
    console.print(f"metrics: {_metrics(mv.metrics) or '-'}", markup=False)
    console.print(f"params: {json.dumps(mv.params)}", markup=False)
    console.print(f"produced by: run {mv.run_id or '-'}, task run {mv.task_run_id or '-'}, {fmt_time(mv.created_at)}")
    _print_history(reg, name)


def _print_history(reg: Registry, name: str) -> None:
    t = Table(title="release history")
    for c in ("when", "alias", "action", "from", "to"):
        t.add_column(c)
    for r in reg.history(name):
        t.add_row(fmt_time(r.created_at), plain(r.alias), plain(r.action),
                  f"v{r.from_version}" if r.from_version else "-", f"v{r.to_version}")
    console.print(t)


@app.command("register")
@handle_errors
def register(
    name: str,
    bundle: Annotated[Path, typer.Argument(help="a directory saved by shoal.ml (bundle.json + model files)")],
    feature_set: Annotated[str | None, typer.Option("--feature-set", help="the feature set serving computes")] = None,
    metrics: Annotated[str | None, typer.Option("--metrics", help='JSON object, e.g. \'{"auc": 0.91}\'')] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Register a saved model bundle as a new version (the `release` task does this in a workflow)."""
    from shoal.errors import InvalidInput

    try:
        parsed = json.loads(metrics) if metrics else {}
    except json.JSONDecodeError as e:
        raise InvalidInput(f"--metrics is not JSON: {e}") from None
    mv = _registry(project).register(name, bundle, metrics=parsed, feature_set=feature_set)
    if json_out:
        print_json(mv.to_json())
        return
    console.print(f"registered {escape(name)} version {mv.version}")


@app.command("release")
@handle_errors
def release(
    name: str,
    version: int,
    alias: AliasOpt = DEFAULT_ALIAS,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Point an alias at a version (after checking its artifact loads); servers follow it."""
    r = _registry(project).release(name, version, alias)
    if json_out:
        print_json(r.to_json())
        return
    if r.from_version == r.to_version:
        console.print(f"{escape(name)}: {escape(alias)} already points at v{r.to_version}; nothing changed")
        return
    was = f" (was v{r.from_version})" if r.from_version else ""
    console.print(f"{escape(name)}: {escape(alias)} → v{r.to_version}{was}")


@app.command("rollback")
@handle_errors
def rollback(
    name: str,
    alias: AliasOpt = DEFAULT_ALIAS,
    to: Annotated[int | None, typer.Option("--to", help="version to go back to (default: the previous one)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Move an alias back to where it pointed before its current release (or to --to VERSION)."""
    r = _registry(project).rollback(name, alias, to)
    if json_out:
        print_json(r.to_json())
        return
    console.print(f"{escape(name)}: {escape(alias)} rolled back to v{r.to_version} (was v{r.from_version})")


def serve(
    name: Annotated[str, typer.Argument(help="the model to serve")],
    alias: AliasOpt = DEFAULT_ALIAS,
    port: Annotated[int, typer.Option("--port", help="TCP port")] = 8881,
    host: Annotated[str, typer.Option("--host", help="address to bind")] = "127.0.0.1",
    poll: Annotated[float, typer.Option("--poll", help="seconds between checks of the alias")] = 0.5,
    workers: Annotated[int, typer.Option("--workers", min=1, help="server processes, each with the model loaded")] = 1,
    project: ProjectOpt = DEFAULT_PROJECT,
    # The defaults are shoal.serving.body's DEFAULT_MAX_BODY_BYTES / DEFAULT_MAX_ROWS, written
    # out so that --help shows them without importing the server (a test keeps them equal).
    max_body_bytes: Annotated[int, typer.Option(
        "--max-body-bytes", min=1, help="largest request body accepted, in bytes (8 MiB); larger: 413")] = 8_388_608,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=1, help="most rows one request may send; more: 413")] = 10_000,
) -> None:
    """Serve a model's aliased version over HTTP; swap to each new release without dropping requests."""
    # One request is one row (or a few): waking an OpenMP pool costs more than the trees, and a
    # spinning pool steals the core the event loop needs. Set before any ML library loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from shoal.serving.app import SERVE_ENV, server_app
    from shoal.serving.body import Limits

    limits = Limits(max_body_bytes=max_body_bytes, max_rows=max_rows)
    if workers > 1:
        mv = _registry(project).get(name, alias=alias)  # fail here, once, if there is nothing to serve
        console.print(f"serving {name}@{alias} = version {mv.version} ({mv.flavor}) on http://{host}:{port}"
                      f" with {workers} worker processes", markup=False)
        os.environ[SERVE_ENV] = json.dumps({"model": name, "alias": alias, "poll": poll, "project": project,
                                            "max_body_bytes": max_body_bytes, "max_rows": max_rows})
        uvicorn.run("shoal.serving.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_level="warning", access_log=False)
        return

    watcher, app = server_app(_registry(project), name, alias, poll, limits)
    mv = watcher.current.version
    console.print(f"serving {name}@{alias} = version {mv.version} ({mv.flavor}) on http://{host}:{port}"
                  f"  (POST /predict, /invocations; GET /health, /metadata)", markup=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        watcher.stop()
    # The loaded models are frozen out of the collector: skip tearing them down one by one (and
    # DuckDB's nanobind reporting them as leaks) on the way out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
