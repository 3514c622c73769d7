"""`shoal model ...`: the model registry — versions, aliases, release, rollback — and `shoal serve`.

Thin over `shoal.services.models`, which each command imports when it runs: typer imports this
module for `shoal --help`, which must not load the registry, SQLAlchemy or the ML libraries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import refuse_remote, services
from shoal.cli._common import Column, console, fmt_time, handle_errors, plain, print_json, print_rows
from shoal.cli._options import DEFAULT_PROJECT, JsonOpt

if TYPE_CHECKING:
    from shoal.services.models import Release

app = typer.Typer(no_args_is_help=True, help="Model registry: versions, aliases, release, rollback.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project of the model")]
AliasOpt = Annotated[str, typer.Option("--alias", help="the serving alias to move")]
# shoal.registry.DEFAULT_ALIAS, written out so that --help loads no registry (a test keeps the two equal).
DEFAULT_ALIAS = "production"


def _metrics(metrics: dict[str, object]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())


MODEL_COLUMNS = (
    Column("model", lambda i: plain(i.name), whole=True),
    Column("latest", lambda i: f"v{i.latest_version}" if i.latest_version else "-", whole=True),
    Column("aliases", lambda i: plain(", ".join(f"{a}→v{v}" for a, v in sorted(i.aliases.items())) or "-")),
    Column("created", lambda i: fmt_time(i.created_at), min_width=10, drop=1),
)
# In a narrow terminal the metrics and names fold onto more lines rather than end in "…".
VERSION_COLUMNS = (
    Column("version", lambda v: str(v.version), whole=True),
    Column("aliases", lambda v: plain(", ".join(v.aliases) or "-"), whole=True),
    Column("flavor", lambda v: plain(v.flavor), drop=2),
    Column("feature set", lambda v: plain(f"{v.feature_set} v{v.feature_set_version}" if v.feature_set else "-")),
    Column("metrics", lambda v: plain(_metrics(v.metrics))),
    Column("run", lambda v: str(v.run_id or "-"), whole=True, drop=3),
    Column("created", lambda v: fmt_time(v.created_at), min_width=10, drop=1),
)


@app.command("list")
@handle_errors
def list_(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List models with their latest version and aliases."""
    from shoal.cli._store import store
    model_service = services.models

    print_rows(model_service.list_models(store(), project=project), MODEL_COLUMNS, json_out)


@app.command("versions")
@handle_errors
def versions(name: str, project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List a model's versions with their metrics and aliases."""
    from shoal.cli._store import store
    model_service = services.models

    print_rows(model_service.list_versions(store(), name, project=project), VERSION_COLUMNS, json_out)


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
    from shoal.cli._store import store
    model_service = services.models

    detail = model_service.get_version(store(), name, version=version, alias=alias, project=project)
    if json_out:
        print_json(detail.to_json())
        return
    mv = detail.version
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
    console.print(f"evaluation: {_evaluation(name, mv.version, project)}", markup=False)
    _print_history(detail.history)


def _evaluation(name: str, version: int, project: str) -> str:
    """One line on the version's evaluation report (the web UI draws it), or how to store one."""
    from shoal.cli._store import store
    from shoal.errors import NotFound

    try:
        doc = services.models.get_evaluation(store(), name, version, project=project)
    except NotFound:
        return "none (a release task stores one with evaluation: '${evaluate.evaluation}')"
    parts = [f"{doc.get('objective')}, {doc.get('rows')} rows"]
    if "confusion" in doc:
        c = doc["confusion"]
        parts.append(f"at threshold {doc.get('threshold')}: tn={c['tn']} fp={c['fp']} fn={c['fn']} tp={c['tp']}")
    curves = [k for k in ("roc", "pr", "residuals", "predicted_vs_actual") if k in doc]
    if curves:
        parts.append(", ".join(k.replace("_", " ") for k in curves))
    if "importance" in doc:
        parts.append(f"importance ({doc['importance']['kind']}) of {len(doc['importance']['features'])} features")
    return "; ".join(parts)


def _print_history(history: list[Release]) -> None:
    from rich.table import Table

    t = Table(title="release history")
    for c in ("when", "alias", "action", "from", "to"):
        t.add_column(c)
    for r in history:
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
    refuse_remote("shoal model register", "the bundle's files must be where the server is")
    from shoal.cli._store import store
    from shoal.errors import InvalidInput
    model_service = services.models

    try:
        parsed = json.loads(metrics) if metrics else {}
    except json.JSONDecodeError as e:
        raise InvalidInput(f"--metrics is not JSON: {e}") from None
    mv = model_service.register(store(create=True), name, bundle, metrics=parsed, feature_set=feature_set,
                                project=project)
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
    """Point an alias at a version (after checking its artifact is intact); servers follow it."""
    from shoal.cli._store import store
    model_service = services.models

    r = model_service.release(store(), name, version, alias=alias, project=project)
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
    from shoal.cli._store import store
    model_service = services.models

    r = model_service.rollback(store(), name, alias=alias, to=to, project=project)
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
    refuse_remote("shoal serve", "a model server runs beside the registry's artifacts")
    from shoal.cli._store import store
    model_service = services.models

    model_service.serve(store(), name, alias=alias, host=host, port=port, poll=poll, workers=workers,
                        max_body_bytes=max_body_bytes, max_rows=max_rows, project=project,
                        announce=lambda line: console.print(line, markup=False))
