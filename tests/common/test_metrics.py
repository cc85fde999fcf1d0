"""The lecture's integration metrics every service exposes: rate-limit violations, queue depth, processing delay."""
from __future__ import annotations

import requests

from labkit.monitoring.exposition import families, scrape
from labkit.procs import wait_until
from labservices.common.metrics import Metrics


def test_every_service_exposes_the_integration_metric_families(toy_url):
    found = families(scrape(toy_url))
    assert found["rate_limit_violations"] == "counter"  # the parser names a counter without _total
    assert found["lab_queue_depth"] == "gauge"
    assert found["lab_processing_delay_seconds"] == "histogram"
    assert found["http_request_duration_seconds"] == "histogram" and found["http_requests"] == "counter"


def test_queue_depth_is_read_at_each_scrape_and_delay_lands_in_minute_sized_buckets():
    metrics = Metrics("svc")
    waiting = [1, 2, 3]
    metrics.queue_depth("outbox").set_function(lambda: len(waiting))
    metrics.processing_delay("outbox").observe(90)
    text = metrics.render().decode()
    assert 'lab_queue_depth{queue="outbox"} 3.0' in text
    waiting.clear()
    text = metrics.render().decode()
    assert 'lab_queue_depth{queue="outbox"} 0.0' in text
    assert 'lab_processing_delay_seconds_bucket{le="60.0",queue="outbox"} 0.0' in text
    assert 'lab_processing_delay_seconds_bucket{le="300.0",queue="outbox"} 1.0' in text


def test_a_scrape_is_counted_but_not_written_to_the_services_log(toy_url, tmp_path_factory):
    rid = "req_scrape_not_logged"
    requests.get(toy_url + "/metrics", headers={"X-Request-ID": rid}, timeout=5)
    requests.get(toy_url + "/api/conflict", headers={"X-Request-ID": rid + "_2"}, timeout=5)
    assert 'http_requests_total{method="GET",route="/metrics",status="200"}' in scrape(toy_url)
    logs = list(tmp_path_factory.getbasetemp().rglob("toy.log"))  # the session's toy writes its log there
    assert wait_until(lambda: rid + "_2" in "".join(p.read_text(errors="replace") for p in logs), timeout=5)
    assert f'"{rid}"' not in "".join(p.read_text(errors="replace") for p in logs)
