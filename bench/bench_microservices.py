"""Measure notebook 05's patterns: what a hop costs, what a breaker saves, how long a saga takes, the memory added.

    python bench/bench_microservices.py [--calls 300] [--sagas 20] [--json]

Runs a private stack in a fresh state folder on free ports (RabbitMQ and Kafka, and every service in
one host process, as `lab up` runs them).

1. **Memory.** The host's PSS with the services of notebooks 00–04, and with notebook 05's
   (gateway, users, catalog ×2, registry, saga) besides them.
2. **A hop.** ``--calls`` reads of one product, interleaved in one run: from the catalog straight,
   through the gateway (routing, rate limit, discovery, breaker), and from the shop (the monolith);
   then an authenticated read of an order, straight and through the gateway (JWT checked at the edge).
   Orders placed synchronously (the catalog called before the order exists) and asynchronously.
3. **The breaker.** The catalog 3 s slow; 32 synchronous orders from 8 threads, with orders' breaker
   off and then on: the callers' p50, p99 and the most requests in flight at orders.
4. **Sagas.** ``--sagas`` sagas one at a time: completed; a declined card (compensated after the
   charge fails); a carrier that refuses (compensated after the charge succeeded): each duration,
   and the time from the failed step to the last compensation.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from bench_events import epoch, host_pss, private_stack, with_free_ports  # noqa: E402

from labkit import components, config  # noqa: E402
from labkit.procs import wait_until  # noqa: E402
from labservices.common.declaration import instance  # noqa: E402

MICRO = {"gateway", "users", "catalog", "registry", "saga"}
CUSTOMER = {"name": "Бенч", "email": "bench@example.com"}


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
            "n": len(ordered)}


def timed(session: requests.Session, method: str, url: str, **kwargs) -> float:
    started = time.perf_counter()
    resp = session.request(method, url, timeout=30, **kwargs)
    elapsed = time.perf_counter() - started
    if resp.status_code >= 400:
        raise SystemExit(f"{method} {url} answered {resp.status_code}: {resp.text[:300]}")
    return elapsed


def hops(calls: int) -> dict:
    """The same read straight, through the gateway and from the monolith, interleaved so drift hits all alike."""
    session = requests.Session()
    token = session.post(config.url("gateway") + "/api/auth/login",
                         json={"email": "olena@example.com", "password": "lab-password"}, timeout=10).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    order = session.post(config.url("orders") + "/api/orders", json={
        "customer": CUSTOMER, "items": [{"sku": "ABC", "quantity": 1}]}, timeout=10).json()
    samples: dict[str, list[float]] = {k: [] for k in ("catalog_direct", "via_gateway", "shop_monolith",
                                                        "order_direct", "order_via_gateway_jwt")}
    requests.put(config.url("gateway") + "/admin/rate-limit", json={"limit": 100_000, "window_s": 60}, timeout=10)
    for _ in range(10):  # warm up connections and caches
        timed(session, "GET", config.url("gateway") + "/api/products/ABC")
    for _ in range(calls):
        samples["catalog_direct"].append(timed(session, "GET", config.url("catalog") + "/api/products/ABC"))
        samples["via_gateway"].append(timed(session, "GET", config.url("gateway") + "/api/products/ABC"))
        samples["shop_monolith"].append(timed(session, "GET", config.url("shop") + "/api/products/1"))
        samples["order_direct"].append(timed(session, "GET", config.url("orders") + f"/api/orders/{order['order_id']}"))
        samples["order_via_gateway_jwt"].append(timed(session, "GET", config.url("gateway") +
                                                      f"/api/orders/{order['order_id']}", headers=auth))
    result = {k: percentiles(v) for k, v in samples.items()}
    creates: dict[str, list[float]] = {"create_order_sync": [], "create_order_async": []}
    requests.put(config.url("catalog") + "/api/products/EL-008/stock", json={"stock": 1_000_000}, timeout=10)
    body = {"customer": CUSTOMER, "items": [{"sku": "EL-008", "quantity": 1}]}
    for _ in range(max(20, calls // 10)):
        creates["create_order_sync"].append(timed(session, "POST", config.url("orders") + "/api/orders/sync",
                                                  json=body))
        creates["create_order_async"].append(timed(session, "POST", config.url("orders") + "/api/orders", json=body))
    result.update({k: percentiles(v) for k, v in creates.items()})
    for name, figures in result.items():
        print(f"{name:24} p50 {figures['p50_ms']:7.2f} ms   p99 {figures['p99_ms']:7.2f} ms   ({figures['n']} calls)",
              file=sys.stderr)
    requests.delete(config.url("gateway") + "/admin/rate-limit", timeout=10)
    return result


def in_flight() -> float:
    for line in requests.get(config.url("orders") + "/metrics", timeout=10).text.splitlines():
        if line.startswith("http_requests_in_progress"):
            return float(line.split()[-1])
    return 0.0


def breaker_effect(orders: int = 32, threads: int = 8) -> dict:
    """Callers of a slow dependency, without a breaker and with one."""
    out = {}
    body = {"customer": CUSTOMER, "items": [{"sku": "EL-008", "quantity": 1}]}
    for label, enabled in (("without_breaker", False), ("with_breaker", True)):
        requests.post(config.url("orders") + "/admin/breakers/catalog/reset", timeout=10)
        requests.put(config.url("orders") + "/admin/breakers/catalog", json={"enabled": enabled}, timeout=10)
        for copy in ("catalog", "catalog-2"):
            requests.put(config.url(copy) + "/admin/chaos", json={"latency_ms": 3000}, timeout=10)
        peak, done = [0.0], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], in_flight())
                time.sleep(0.05)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        session = requests.Session()

        def one(_: int) -> float:
            return timed(session, "POST", config.url("orders") + "/api/orders/sync", json=body)
        started = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            latencies = list(pool.map(one, range(orders)))
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
        for copy in ("catalog", "catalog-2"):
            requests.delete(config.url(copy) + "/admin/chaos", timeout=10)
        out[label] = {**percentiles(latencies), "wall_s": round(wall, 2), "max_in_flight": peak[0]}
        print(f"catalog 3 s slow, {label.replace('_', ' ')}: p50 {out[label]['p50_ms']:.0f} ms, "
              f"p99 {out[label]['p99_ms']:.0f} ms, {orders} orders in {wall:.1f} s, "
              f"at most {peak[0]:.0f} in flight", file=sys.stderr)
    requests.put(config.url("orders") + "/admin/breakers/catalog", json={"enabled": True}, timeout=10)
    requests.post(config.url("orders") + "/admin/breakers/catalog/reset", timeout=10)
    return out


def sagas(count: int) -> dict:
    def run(**extra) -> dict:
        resp = requests.post(config.url("saga") + "/api/sagas?wait=30", timeout=40, json={
            "customer": CUSTOMER, "items": [{"product_id": "EL-008", "quantity": 1}], **extra})
        saga = resp.json()
        if saga["status"] not in ("completed", "compensated"):
            raise SystemExit(f"a saga did not finish in 30 s: {saga['saga_id']} {saga['status']}")
        return saga

    def compensation_s(saga: dict) -> float:
        log = saga["log"]
        failed = next(line for line in log if line["kind"] == "step_failed")
        return epoch(log[-1]["at"]) - epoch(failed["at"])

    out: dict = {}
    for label, extra in (("completed", {}), ("card_declined", {"payment_method": "pm_card_chargeDeclined"}),
                         ("shipping_refused", {"shipping": {"city": "Ужгород"}})):
        done = [run(**extra) for _ in range(count)]
        assert all(s["status"] == ("completed" if label == "completed" else "compensated") for s in done)
        out[label] = {"duration": percentiles([s["duration_ms"] / 1000 for s in done])}
        if label != "completed":
            out[label]["compensation"] = percentiles([compensation_s(s) for s in done])
        extra_text = (f"; failed step to last compensation p50 {out[label]['compensation']['p50_ms']:.0f} ms"
                      if label != "completed" else "")
        print(f"saga {label}: p50 {out[label]['duration']['p50_ms']:.0f} ms, "
              f"p99 {out[label]['duration']['p99_ms']:.0f} ms{extra_text}", file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sagas", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    before = {c.name for c in components.components() if c.kind == "service" and instance(c.name).service.name
              not in MICRO}
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        with_free_ports()
        os.environ["LAB_HOME"] = str(Path(tmp) / "before")
        small = private_stack(Path(tmp) / "before", before)
        try:
            small.up(timeout=300)
            result["pss_mb_without_05"] = host_pss(small)
        finally:
            small.down()
        with_free_ports()
        os.environ["LAB_HOME"] = str(Path(tmp) / "all")
        stack = private_stack(Path(tmp) / "all", None)
        try:
            started = time.perf_counter()
            stack.up(timeout=300)
            result["startup_s"] = round(time.perf_counter() - started, 1)
            result["pss_mb_with_05"] = host_pss(stack)
            result["pss_mb_added_by_05"] = round(result["pss_mb_with_05"] - result["pss_mb_without_05"], 1)
            print(f"memory: host PSS {result['pss_mb_without_05']} MB without notebook 05's services, "
                  f"{result['pss_mb_with_05']} MB with them (+{result['pss_mb_added_by_05']} MB)", file=sys.stderr)
            wait_until(lambda: len(requests.get(config.url("registry") + "/api/services/catalog", timeout=5).json())
                       == 2, timeout=30)
            wait_until(lambda: all(requests.get(config.url(n) + "/admin/bus", timeout=5).json()["connected"]
                                   for n in ("orders", "catalog", "catalog-2")), timeout=60)
            result["hops"] = hops(args.calls)
            result["breaker"] = breaker_effect()
            result["sagas"] = sagas(args.sagas)
            result["pss_mb_after_load"] = host_pss(stack)
        finally:
            stack.down()
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
