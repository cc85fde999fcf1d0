"""PromQL from a notebook: instant and range queries, the alerts Prometheus holds, waiting for one.

    from labkit.monitoring import query, query_range, alerts, wait_for_alert
    query('sum by (job) (rate(http_requests_total[1m]))')   # [Sample(job=shop, value=2.4), ...]
    query_range('rate(http_requests_total{job="shop"}[30s])', minutes=5)
    wait_for_alert("HighErrorRate", state="firing")

Messages meant for students are in Ukrainian, like the notebooks.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import requests

from .. import config


class PrometheusUnavailable(RuntimeError):
    """Prometheus does not answer or refuses the query; the message says what to do."""


def _api(path: str, params: dict | None = None, base: str | None = None, timeout: float = 15.0):
    base = (base or config.prometheus_url()).rstrip("/")
    try:
        resp = requests.get(f"{base}/api/v1/{path}", params=params, timeout=timeout)
    except requests.RequestException:
        raise PrometheusUnavailable(f"Prometheus не відповідає на {base}: запустіть стек командою `lab up` "
                                    "і перевірте `lab status`.") from None
    try:
        body = resp.json()
    except ValueError:
        raise PrometheusUnavailable(f"За адресою {base} відповідає не Prometheus (HTTP {resp.status_code}).") from None
    if body.get("status") != "success":
        raise PrometheusUnavailable(f"Prometheus відхилив запит: {body.get('error', resp.text[:300])} "
                                    "Перевірте вираз PromQL.")
    return body["data"]


def label_text(labels: dict[str, str]) -> str:
    """``{job="shop", route="/api"}`` without ``__name__``, the way Prometheus's UI shows a series."""
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    name = labels.get("__name__", "")
    return name + ("{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}" if shown else "")


@dataclass
class Sample:
    """One series at one moment (an instant query's answer)."""

    labels: dict[str, str]
    value: float
    at: float

    def __repr__(self) -> str:
        return f"{label_text(self.labels) or '{}'} = {self.value:g}"


@dataclass
class Series:
    """One series over time (a range query's answer): ``points`` are (unix time, value)."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return label_text(self.labels) or "{}"

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]

    def __repr__(self) -> str:
        last = f"{self.points[-1][1]:g}" if self.points else "-"
        return f"{self.name}: {len(self.points)} точок, остання {last}"


def _number(text: str) -> float:
    return float(text)  # Prometheus sends "NaN", "+Inf" and "-Inf" as strings float() reads


def query(expr: str, at: float | None = None, base: str | None = None) -> list[Sample]:
    """An instant query: each series' value now (or at unix time ``at``)."""
    params = {"query": expr, **({"time": at} if at is not None else {})}
    data = _api("query", params, base)
    if data["resultType"] == "scalar":
        t, v = data["result"]
        return [Sample({}, _number(v), float(t))]
    if data["resultType"] != "vector":
        raise PrometheusUnavailable(f"Запит {expr!r} повертає {data['resultType']}, а не вектор: "
                                    "для діапазонів [1m] використайте query_range або rate(...).")
    return [Sample(r["metric"], _number(r["value"][1]), float(r["value"][0])) for r in data["result"]]


def value(expr: str, default: float | None = None, base: str | None = None) -> float | None:
    """The single number an expression gives now (``default`` when it gives no series)."""
    found = [s.value for s in query(expr, base=base) if not math.isnan(s.value)]
    if len(found) > 1:
        raise PrometheusUnavailable(f"Запит {expr!r} дав {len(found)} рядів, а не один: агрегуйте, напр. sum(...).")
    return found[0] if found else default


def query_range(expr: str, minutes: float = 5.0, step: float | None = None, end: float | None = None,
                base: str | None = None) -> list[Series]:
    """A range query over the last ``minutes``: one :class:`Series` per label set, ~120 points each."""
    end = time.time() if end is None else end
    start = end - minutes * 60
    step = step or max(1.0, round(minutes * 60 / 120))
    data = _api("query_range", {"query": expr, "start": start, "end": end, "step": step}, base)
    return [Series(r["metric"], [(float(t), _number(v)) for t, v in r["values"]]) for r in data["result"]]


def alerts(name: str | None = None, state: str | None = None, base: str | None = None) -> list[dict]:
    """Alerts Prometheus holds now (``state``: pending or firing), each with labels, annotations, value."""
    found = _api("alerts", base=base)["alerts"]
    return [a for a in found if (name is None or a["labels"].get("alertname") == name)
            and (state is None or a["state"] == state)]


def wait_for_alert(name: str, state: str = "firing", timeout: float = 120.0, labels: dict[str, str] | None = None,
                   base: str | None = None) -> dict | None:
    """Wait until alert ``name`` is in ``state`` (pending, firing, or "inactive": gone); return it.

    Returns None for "inactive". Raises TimeoutError, saying what was seen, when it does not happen in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        now = [a for a in alerts(name, base=base) if all(a["labels"].get(k) == v for k, v in (labels or {}).items())]
        if state == "inactive" and not now:
            return None
        match = next((a for a in now if a["state"] == state), None)
        if match is not None:
            return match
        if time.monotonic() > deadline:
            seen = ", ".join(a["state"] for a in now) or "жодного"
            raise TimeoutError(f"Алерт {name} не став {state} за {timeout:.0f} с (зараз: {seen}).")
        time.sleep(1.0)
