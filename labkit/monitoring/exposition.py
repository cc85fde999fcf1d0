"""Reading Prometheus's text format (what ``/metrics`` answers) without a Prometheus: families and samples.

    from labkit.monitoring.exposition import scrape, sample_value
    text = scrape(url("shop"))                                   # GET /metrics
    sample_value(text, "http_requests_total", route="/api/products", status="200")
"""
from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families


def scrape(base_url: str, path: str = "/metrics", timeout: float = 5.0) -> str:
    """The metrics a service exposes, as text."""
    resp = requests.get(base_url.rstrip("/") + path, timeout=timeout)
    resp.raise_for_status()
    return resp.text


def families(text: str) -> dict[str, str]:
    """Each metric family's name and type (counter, gauge, histogram, summary...); ValueError if not the format."""
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample: (name with its suffix such as ``_total`` or ``_bucket``, labels, value)."""
    return [(s.name, dict(s.labels), float(s.value)) for f in text_string_to_metric_families(text) for s in f.samples]


def sample_value(text: str, name: str, default: float = 0.0, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels`` (``default`` when none)."""
    found = [v for n, ls, v in samples(text) if n == name and all(ls.get(k) == v_ for k, v_ in labels.items())]
    return sum(found) if found else default
