"""Measure the payments service's webhooks: delivery latency, schedule accuracy, deliveries lost on a restart.

Everything runs on this machine's loopback: a real payments service (uvicorn, its own
SQLite) and a receiver in this process. Three measurements, each bounded in count and time:

1. latency to a healthy receiver: one event at a time, from sending ``POST /api/triggers``
   to the receiver holding the delivery (p50, p99, max);
2. schedule accuracy: receivers that always answer 500, every retry's start minus its
   scheduled time (the time scale turns 1 min, 5 min, 15 min, 1 h into fractions of a second);
3. restart: events queued while the receiver is down, the service killed (SIGKILL) mid-schedule
   and started again, the receiver back: how many events never arrived (must be 0).

    python bench/bench_webhooks.py [--events 200] [--failing 20] [--restart-events 100] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from fastapi import FastAPI, Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labkit import components  # noqa: E402
from labkit.grading.appserver import AppServer  # noqa: E402
from labkit.procs import free_port, http_ok, spawn, terminate, wait_until  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class Receiver:
    """Records when each event id first (and again) arrived; answers ``status``."""

    def __init__(self, status: int = 200, port: int | None = None) -> None:
        self.status = status
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            at = time.time()
            event_id = request.headers.get("webhook-id", "")
            await request.body()
            with self.lock:
                self.arrivals.setdefault(event_id, []).append(at)
            return Response(status_code=self.status)

        sock = None
        if port is not None:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))
            sock.listen(128)
        self.server = AppServer(app, sock=sock).start()
        self.url = self.server.url + "/hook"

    def stop(self) -> None:
        self.server.stop()


@contextmanager
def payments(home: Path, time_scale: float):
    address = f"http://127.0.0.1:{free_port()}"
    env = {"LAB_HOME": str(home), "LAB_PAYMENTS_URL": address, "PAYMENTS_RETRY_TIME_SCALE": str(time_scale),
           "LAB_LOG_LEVEL": "WARNING"}
    proc = spawn(components.isolated_command("payments"), env=env, log_path=home / "payments.log", cwd=ROOT)
    try:
        if not wait_until(lambda: http_ok(address + "/health"), timeout=30, while_alive=proc.pid):
            raise SystemExit("payments did not start:\n" + (home / "payments.log").read_text()[-2000:])
        yield address, proc
    finally:
        terminate(proc.pid)
        proc.wait(timeout=10)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def endpoint(base: str, url: str) -> str:
    resp = requests.post(base + "/api/webhook_endpoints", json={"url": url, "enabled_events": ["payment_intent.created"]},
                         timeout=10)
    resp.raise_for_status()
    return resp.json()["id"]


def fire(base: str) -> tuple[str, float]:
    sent = time.time()
    resp = requests.post(base + "/api/triggers", json={"event": "payment_intent.created"}, timeout=10)
    resp.raise_for_status()
    return resp.json()["events"][0], sent


def latency(events: int) -> dict:
    with tempfile.TemporaryDirectory() as home, payments(Path(home), 0.001) as (base, _):
        receiver = Receiver()
        try:
            endpoint(base, receiver.url)
            samples = []
            for _ in range(events):
                event_id, sent = fire(base)
                if not wait_until(lambda: event_id in receiver.arrivals, timeout=5, interval=0.001):
                    raise SystemExit(f"event {event_id} did not arrive within 5 s")
                samples.append((receiver.arrivals[event_id][0] - sent) * 1000)
        finally:
            receiver.stop()
    return {"events": events, "p50_ms": round(pct(samples, 50), 1), "p99_ms": round(pct(samples, 99), 1),
            "max_ms": round(max(samples), 1), "mean_ms": round(statistics.mean(samples), 1)}


def schedule(failing: int, time_scale: float = 0.002) -> dict:
    with tempfile.TemporaryDirectory() as home, payments(Path(home), time_scale) as (base, _):
        receiver = Receiver(status=500)
        try:
            endpoint(base, receiver.url)
            fired = [fire(base)[0] for _ in range(failing)]

            def finished() -> bool:
                rows = requests.get(base + "/api/deliveries", params={"limit": 100, "status": "failed"}, timeout=10)
                return len(rows.json()["data"]) >= failing

            if not wait_until(finished, timeout=3600 * 1.5 * time_scale + 30, interval=0.2):
                raise SystemExit("failing deliveries did not finish in time")
            rows = requests.get(base + "/api/deliveries", params={"limit": 100}, timeout=10).json()["data"]
        finally:
            receiver.stop()
    late = [a["late_ms"] for d in rows for a in d["attempts"] if a["number"] > 1]
    attempts = [d["attempts_made"] for d in rows]
    gaps = [60 * time_scale, 300 * time_scale, 900 * time_scale, 3600 * time_scale]
    return {"deliveries": failing, "time_scale": time_scale, "scheduled_gaps_s": gaps,
            "attempts_each": sorted(set(attempts)), "retries": len(late), "late_p50_ms": round(pct(late, 50), 1),
            "late_p99_ms": round(pct(late, 99), 1), "late_max_ms": round(max(late), 1), "fired": len(fired)}


def restart(events: int) -> dict:
    with tempfile.TemporaryDirectory() as home_dir:
        home = Path(home_dir)
        port = free_port()
        url = f"http://127.0.0.1:{port}/hook"
        with payments(home, 0.005) as (base, proc):
            endpoint(base, url)
            fired = {fire(base)[0] for _ in range(events)}

            def all_tried() -> bool:
                rows = requests.get(base + "/api/deliveries", params={"limit": 100}, timeout=10).json()["data"]
                return len(rows) == min(events, 100) and all(d["attempts_made"] >= 2 for d in rows)

            wait_until(all_tried, timeout=30, interval=0.1)
            os.kill(proc.pid, signal.SIGKILL)  # mid-schedule: every delivery pending, its next attempt on disk
            proc.wait(timeout=10)
        receiver = Receiver(port=port)
        try:
            with payments(home, 0.005) as (base, _):
                def delivered() -> bool:
                    return fired <= set(receiver.arrivals)

                ok = wait_until(delivered, timeout=60, interval=0.1)
                took = time.time()
        finally:
            receiver.stop()
    lost = fired - set(receiver.arrivals)
    duplicates = sum(len(v) - 1 for k, v in receiver.arrivals.items() if k in fired)
    return {"events": events, "lost": len(lost), "delivered": len(fired) - len(lost), "duplicates": duplicates,
            "all_arrived": ok, "finished_at": took}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="latency samples (default 200)")
    parser.add_argument("--failing", type=int, default=20, help="always-failing deliveries (default 20)")
    parser.add_argument("--restart-events", type=int, default=100, help="events queued across the kill (max 100)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"latency": latency(min(args.events, 2000)), "schedule": schedule(min(args.failing, 100)),
              "restart": restart(min(args.restart_events, 100))}
    result["restart"].pop("finished_at")
    if args.json:
        print(json.dumps(result, indent=2))
        return
    lat, sch, rst = result["latency"], result["schedule"], result["restart"]
    print(f"latency to a healthy receiver ({lat['events']} events, one at a time): "
          f"p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms")
    print(f"schedule accuracy ({sch['retries']} retries of {sch['deliveries']} failing deliveries, "
          f"gaps {sch['scheduled_gaps_s']} s): late p50 {sch['late_p50_ms']} ms, p99 {sch['late_p99_ms']} ms, "
          f"max {sch['late_max_ms']} ms; attempts per delivery {sch['attempts_each']}")
    print(f"restart (SIGKILL mid-schedule, {rst['events']} events): lost {rst['lost']}, "
          f"duplicates {rst['duplicates']}")


if __name__ == "__main__":
    main()
