"""`GET /metrics` for Prometheus: the API's request latency per route, and the state of runs and
task runs read from the metadata database at each scrape.

Two sources, one per-app `CollectorRegistry` (never the process-global one: several apps in one
process, as in the tests, must not share or clash):

- `shoal_api_request_duration_seconds{method,route,status}`, observed by `RequestTimer` in this
  process. `route` is the matched route's template (`/api/v1/projects/{project}/runs/{run_id}`),
  never the raw path: what a mounted app answers (static files) is its mount's `/prefix/{path}`,
  and a path nothing matches is `unmatched`; an unknown method is `other`. So the number of
  series stays bounded whatever clients send. Scrapes of /metrics itself are left out: they
  would swamp the counts with the monitor's own traffic, and Prometheus times each scrape
  already (`scrape_duration_seconds`).
- `DatabaseCollector`: the families of `FAMILIES`, each read through `shoal.services.metrics`
  when scraped. The API process keeps no counts of its own, so any replica answers the same.

Every family is listed with its meaning in docs/metrics.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shoal import services
from shoal.api.deps import Caller
from shoal.errors import StoreUnavailable

PATH = "/metrics"
UNMATCHED = "unmatched"  # the route label of every path no route matches
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # others: "other"

# Seconds. Lag is milliseconds while slots are free and minutes to hours when the executors
# are full; a task takes from a fraction of a second (a switch) to a day (training).
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
DURATION_BUCKETS = (0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400)

Family = Callable[[services.Store], Iterable[Metric]]


def _histogram(family: HistogramMetricFamily, labels: list[str], h: services.metrics.Histogram) -> None:
    buckets = [(floatToGoString(b), float(n)) for b, n in zip(h.bounds, h.cumulative, strict=True)]
    family.add_metric(labels, [*buckets, ("+Inf", float(h.count))], h.total)


def run_states(store: services.Store) -> Iterator[Metric]:
    family = GaugeMetricFamily("shoal_runs", "Runs by project, workflow and state.",
                               labels=["project", "workflow", "state"])
    for row in services.metrics.run_counts(store):
        for state, n in row.counts.items():
            family.add_metric([row.project, row.workflow, state], n)
    yield family


def task_runs(store: services.Store) -> Iterator[Metric]:
    """Task runs by state and how long the ended ones took: one pass over the task runs."""
    states = GaugeMetricFamily("shoal_task_runs", "Task runs by project, workflow and state.",
                               labels=["project", "workflow", "state"])
    durations = HistogramMetricFamily("shoal_task_duration_seconds", "Seconds the last attempt of every ended "
                                      "task run took, by project and workflow.", labels=["project", "workflow"])
    for row in services.metrics.task_run_stats(store, DURATION_BUCKETS):
        for state, n in row.counts.items():
            states.add_metric([row.project, row.workflow, state], n)
        _histogram(durations, [row.project, row.workflow], row.durations)
    yield states
    yield durations


def queue_depth(store: services.Store) -> Iterator[Metric]:
    yield GaugeMetricFamily("shoal_queue_depth", "Task runs ready to start (queued, in a running run) and "
                            "waiting for executor capacity.", value=services.metrics.queue_depth(store))


def scheduler_lag(store: services.Store) -> Iterator[Metric]:
    family = HistogramMetricFamily("shoal_scheduler_lag_seconds", "Seconds from ready (queued) to running, "
                                   "of every task run that started (its latest attempt).", labels=[])
    _histogram(family, [], services.metrics.scheduler_lag(store, LAG_BUCKETS))
    yield family


# What a scrape reads from the database, in this order: each is a function of the store that
# yields one or more families. To serve another number (e.g. alert deliveries by state): its
# query goes in shoal/services/metrics.py, a function yielding its family here, and into this tuple.
def alert_deliveries(store: services.Store) -> Iterator[Metric]:
    family = GaugeMetricFamily("shoal_alert_deliveries", "Alert deliveries by event, channel (webhook, email) "
                               "and state (pending, sent, failed).", labels=["event", "channel", "state"])
    for (event, channel, state), n in sorted(services.metrics.alert_deliveries(store).items()):
        family.add_metric([event, channel, state], n)
    yield family


FAMILIES: tuple[Family, ...] = (run_states, task_runs, queue_depth, scheduler_lag, alert_deliveries)


class DatabaseCollector:
    """Reads `families` from the store at each scrape (a prometheus_client custom collector)."""

    def __init__(self, store: services.Store, families: tuple[Family, ...] = FAMILIES) -> None:
        self.store = store
        self.families = families

    def collect(self) -> Iterator[Metric]:
        for family in self.families:
            yield from family(self.store)


def route_template(scope: Scope, path: str, root_path: str) -> str:
    """The template of the route that answered: the one the router wrote into the scope, else a
    mount of the app (static files, a sub-application: they leave no route there) whose prefix
    matches `path`, as `/prefix/{path}`; else UNMATCHED. `path` and `root_path` are the request's
    as it came in (a mount rewrites the scope's root_path)."""
    template = getattr(scope.get("route"), "path_format", None)
    if template is not None:
        return template
    probe = {"type": "http", "path": path, "root_path": root_path, "method": scope["method"]}
    for route in getattr(scope.get("app"), "routes", ()):
        if isinstance(route, Mount) and route.matches(probe)[0] is not Match.NONE:
            return route.path_format
    return UNMATCHED


class RequestTimer:
    """ASGI middleware: observes how long each HTTP request took to be answered, with its method,
    route template and status. Answered means its status and headers went out: an event stream
    or a long download counts until it starts, not for as long as it flows. A request that
    raised counts as 500 (the server error middleware around this one answers it), until then."""

    def __init__(self, app: ASGIApp, latency: Histogram) -> None:
        self.app = app
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        answered: float | None = None
        status = 500
        path, root_path = scope["path"], scope.get("root_path", "")

        async def send_noting_status(message: Message) -> None:
            nonlocal answered, status
            if message["type"] == "http.response.start":
                answered, status = time.perf_counter(), message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = route_template(scope, path, root_path)  # the router wrote what it matched into this scope
            if route != PATH:
                method = scope["method"] if scope["method"] in METHODS else "other"
                took = (answered or time.perf_counter()) - start
                self.latency.labels(method, route, str(status)).observe(took)


def install(app: FastAPI) -> CollectorRegistry:
    """Time every request of `app` and serve `GET /metrics` from a registry of its own. The
    route needs an instance admin's bearer token unless SHOAL_METRICS_PUBLIC is true."""
    store: services.Store = app.state.store
    registry = CollectorRegistry()
    latency = Histogram("shoal_api_request_duration_seconds", "API request latency by method, route template "
                        "and status.", ["method", "route", "status"], registry=registry)
    registry.register(DatabaseCollector(store))
    app.add_middleware(RequestTimer, latency=latency)

    def exposition() -> Response:
        try:
            body = generate_latest(registry)
        except Exception as exc:
            failure = services.home.database_failure(exc)
            if failure is None:
                raise
            # 503 in the API's error shape: Prometheus marks the target down (up == 0).
            raise StoreUnavailable(f"the metadata database did not answer: {failure}") from None
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def scrape(caller: Caller) -> Response:
        """Prometheus metrics (text exposition format); needs an instance admin's bearer token."""
        services.metrics.may_read(caller)
        return exposition()

    def scrape_public() -> Response:
        """Prometheus metrics (text exposition format); SHOAL_METRICS_PUBLIC: no token needed."""
        return exposition()

    endpoint = scrape_public if store.settings.metrics_public else scrape
    app.add_api_route(PATH, endpoint, methods=["GET"], tags=["meta"], response_class=Response,
                      responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    return registry


__all__ = ["FAMILIES", "PATH", "DatabaseCollector", "RequestTimer", "install", "route_template"]
