"""Prometheus metrics of one cabinet (prometheus-client): what its processes count and time,
and what its database holds at the moment of a scrape.

Counters and histograms live in a :class:`Metrics` object per :class:`~cabinet_core.app.Cabinet`
(``cabinet.metrics``), each on its own :class:`~prometheus_client.CollectorRegistry`: nothing is
registered at import time, and two cabinets in one test process never share a count. The web
process, the worker and any embedding count into it; the web serves it at ``/metrics``.

The outbox is not counted in memory but read from the database when scraped
(:class:`OutboxCollector`): its depth and the age of its oldest message per subscriber are the
same whichever process answers, so two web processes and a worker need no coordination for them.

Several processes (two web processes, a worker) each hold their own counters. Either scrape
each process, or set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory shared by all of them
before they start: prometheus-client then keeps every process's values in files there, and
:func:`exposition` sums them (docs/monitoring.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from cabinet_core.storage import Store

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROCESS_ENV",
    "Metrics",
    "OutboxCollector",
    "exposition",
]

#: The exposition format's media type (text format 0.0.4).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: prometheus-client's own variable: the directory all processes of a cabinet write into.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Request latencies: most pages take tens of milliseconds, a PDF or an export seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The counters and histograms of one cabinet, on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests = Counter(
            "cabinet_http_requests",
            "HTTP requests answered, by route template (not the raw path) and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.http_latency = Histogram(
            "cabinet_http_request_duration_seconds",
            "Time from a request's start to its response's last byte, by route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "cabinet_outbox_deliveries",
            "Outbox delivery attempts by subscriber and outcome: delivered, retry (failed, "
            "tried again later) or failed (given up; an admin must act).",
            ("subscriber", "outcome"),
            registry=registry,
        )
        self.pdf_renders = Counter(
            "cabinet_pdf_renders",
            "PDF renders by document type and outcome (ok or error).",
            ("doc_type", "outcome"),
            registry=registry,
        )
        self.pdf_render_seconds = Histogram(
            "cabinet_pdf_render_duration_seconds",
            "Time to render one PDF.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,
        )
        self.signin_failures = Counter(
            "cabinet_signin_failures",
            "Refused sign-ins by kind: password (wrong password or unknown e-mail), throttled "
            "(too many failures), second_factor (wrong code) and api_token.",
            ("kind",),
            registry=registry,
        )

    @contextmanager
    def timing_pdf(self, doc_type: str) -> Iterator[None]:
        """Count and time one PDF render of ``doc_type`` (an error is counted and re-raised)."""
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.pdf_renders.labels(doc_type=doc_type, outcome="error").inc()
            raise
        self.pdf_render_seconds.observe(time.perf_counter() - started)
        self.pdf_renders.labels(doc_type=doc_type, outcome="ok").inc()


class OutboxCollector(Collector):
    """Gauges read from the database at each scrape: per subscriber, the deliveries waiting,
    the age of the oldest of them, the deliveries failed for good, and the age of the worker's
    last heartbeat."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterable[Metric]:
        """The gauges as of now (nothing when the database cannot be read: ``/readyz`` says
        why; a scrape must not fail because of it)."""
        from cabinet_core.health import outbox_status, worker_heartbeat

        try:
            now = self.store.clock()
            with self.store.transaction(readonly=True) as tx:
                queues = outbox_status(tx, now=now)
                heartbeat = worker_heartbeat(tx)
        except Exception:
            return
        depth = GaugeMetricFamily(
            "cabinet_outbox_pending",
            "Outbox deliveries not yet delivered nor given up, per subscriber.",
            labels=("subscriber",),
        )
        age = GaugeMetricFamily(
            "cabinet_outbox_oldest_age_seconds",
            "Age of the oldest message still waiting for a subscriber (0 when none waits).",
            labels=("subscriber",),
        )
        failed = GaugeMetricFamily(
            "cabinet_outbox_failed",
            "Outbox deliveries given up, waiting for an admin to retry them, per subscriber.",
            labels=("subscriber",),
        )
        for queue in queues:
            depth.add_metric((queue.subscriber,), queue.pending)
            age.add_metric((queue.subscriber,), queue.oldest_age_seconds)
            failed.add_metric((queue.subscriber,), queue.failed)
        yield depth
        yield age
        yield failed
        if heartbeat is not None:
            yield GaugeMetricFamily(
                "cabinet_worker_heartbeat_age_seconds",
                "Seconds since a worker last said it was alive.",
                value=max((now - heartbeat.at).total_seconds(), 0.0),
            )


def exposition(metrics: Metrics, store: Store) -> bytes:
    """The text exposition of ``metrics`` and the database's gauges; with
    ``PROMETHEUS_MULTIPROC_DIR`` set, the counters of every process writing there, summed."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROCESS_ENV)
    if directory:
        from prometheus_client import multiprocess

        # prometheus-client leaves this constructor unannotated.
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(metrics.registry))
    registry.register(OutboxCollector(store))
    return generate_latest(registry)


class _Forward(Collector):
    """Another registry's metrics, collected into the exposition's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()
