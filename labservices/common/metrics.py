"""Prometheus metrics per service: requests, latency, in flight, chaos injected, outgoing calls, workers,
and the lecture's integration metrics: rate-limit violations, queue depth and processing delay.

A service with a queue of its own (an outbox, pending webhook deliveries) reports its depth with
``metrics.queue_depth("deliveries").set_function(count)`` (read at each scrape) and how long an
item waited before it was handled with ``metrics.processing_delay("deliveries").observe(seconds)``.
"""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Waiting in a queue takes longer than answering a request: up to the retry schedule's hours.
DELAY_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


class Metrics:
    """One registry per app, so two apps in one test process do not collide."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.requests = Counter(
            "http_requests_total", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer an HTTP request",
            ["method", "route"], buckets=BUCKETS, registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.in_progress = Gauge(
            "http_requests_in_progress", "HTTP requests being answered now",
            registry=self.registry,
        )
        self.chaos = Counter(
            "chaos_injected_total", "Failures and delays injected by the chaos switches",
            ["kind"], registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.client_requests = Counter(
            "http_client_requests_total", "Calls this service made to other services, by target and outcome",
            ["target", "method", "status"], registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.client_latency = Histogram(
            "http_client_request_duration_seconds", "Time other services took to answer this service's calls",
            ["target", "method"], buckets=BUCKETS, registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.worker_restarts = Counter(
            "lab_worker_restarts_total", "Background workers restarted after they crashed",
            ["worker"], registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.rate_limited = Counter(
            "rate_limit_violations_total", "Requests refused with 429 because the caller used up its rate limit",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "lab_queue_depth", "Items waiting in this service's own queue (outbox, pending deliveries)",
            ["queue"], registry=self.registry,
        ).labels  # type: ignore[assignment]
        self.processing_delay = Histogram(
            "lab_processing_delay_seconds", "Time an item waited in a queue before it was processed",
            ["queue"], buckets=DELAY_BUCKETS, registry=self.registry,
        ).labels  # type: ignore[assignment]
        info = Gauge("lab_service_info", "Which lab service this is", ["service"], registry=self.registry)
        info.labels(**labels).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
