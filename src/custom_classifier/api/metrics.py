"""Prometheus metrics: requests and latencies, jobs by state, predictions, model-cache hits.

Each app has its own `CollectorRegistry`, so several apps in one process (tests) do not clash.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from custom_classifier.api import API_PREFIX
from custom_classifier.services import jobs

if TYPE_CHECKING:
    from custom_classifier.services.runtime import Runtime


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cc_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "cc_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.predictions = Counter(
            "cc_predictions",
            "Texts or files classified",
            ["source"],
            registry=self.registry,
        )

    def watch(self, runtime: Runtime) -> None:
        self.registry.register(_RuntimeCollector(runtime))


class _RuntimeCollector(Collector):
    """Values read when Prometheus scrapes: jobs by state (from the database), cache counters."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def collect(self) -> Iterator[Metric]:
        by_state = GaugeMetricFamily("cc_jobs", "Training jobs by state", labels=["state"])
        with self._runtime.databases.metadata.sessions() as session:
            for state, count in jobs.count_jobs_by_status(session).items():
                by_state.add_metric([state], count)
        yield by_state
        if "predictor" not in self._runtime.__dict__:  # never loaded a model yet
            return
        stats = self._runtime.predictor.cache_stats()
        yield CounterMetricFamily("cc_model_cache_hits", "Model cache hits", value=stats.hits)
        yield CounterMetricFamily("cc_model_cache_misses", "Model cache misses", value=stats.misses)
        yield GaugeMetricFamily("cc_model_cache_size", "Models loaded", value=stats.size)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (not raw path: ids would explode)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = _route_template(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    """`/api/v1/jobs/{job_id}`: the route's template below the prefix its router is mounted at."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    prefix = API_PREFIX if str(scope.get("path", "")).startswith(API_PREFIX + "/") else ""
    return prefix + str(template) if not str(template).startswith(API_PREFIX) else str(template)
