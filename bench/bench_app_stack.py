"""Where a request's CPU goes inside an app: each layer's cost, measured in-process (no server, no socket).

    python bench/bench_app_stack.py [--requests 14000]

``bench_host.py`` measures requests per second over HTTP; this one says why. It calls the ASGI
app directly, ``GET /api/products/1`` again and again, and reports CPU time per request (the
process's, so the worker thread of a sync route and the span exporter count too) for:

- a bare FastAPI app with one route doing the SQLite lookup;
- that route as a lab service (``create_app``): the shared middleware, metrics, JSON logs to a file, with
  tracing off and on;
- the shop's own GET with every shared middleware taken away: its routing over three mounts
  (/api, /api/v1, /api/v2), its dependencies (the version, optional credentials and their rate
  limit), the ETag; then the shop as it runs, tracing off and on.

The HTTP server's own cost (h11 parsing, the socket) comes on top of every line alike.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = {"TraceMiddleware", "ForwardedPrefixMiddleware", "RequestIdMiddleware", "ObserveMiddleware",
          "BodyLimitMiddleware", "ChaosMiddleware", "LastResortMiddleware", "RateLimitHeaders",
          "HeadOptionsMiddleware"}


def request_scope(path: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8001"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
            "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 8001), "state": {}}


async def cpu_per_request(app, requests: int, path: str = "/api/products/1") -> float:
    """Microseconds of process CPU per request: the second best of seven rounds."""
    statuses = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(200):  # warm up: routes prepared, caches filled
        await app(request_scope(path), receive, send)
    assert statuses[-1] == 200, f"GET {path} answered {statuses[-1]}"
    rounds = []
    for _ in range(7):
        started = time.process_time()
        for _ in range(requests // 7):
            await app(request_scope(path), receive, send)
        rounds.append((time.process_time() - started) / (requests // 7) * 1e6)
    return sorted(rounds)[1]


def lookup_router(db: Path):
    """The bare app's route (``bench_host.LOOKUP``, the text both apps there are built from)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_host import LOOKUP

    namespace = {"DB": str(db)}
    exec(LOOKUP, namespace)  # noqa: S102 - our own benchmark's text
    return namespace["router"]


def build(which: str, db: Path):
    from fastapi import FastAPI

    if which == "bare":
        app = FastAPI()
        app.include_router(lookup_router(db))
        return app
    if which == "lookup":
        from labservices.common import create_app

        return create_app("lookup", title="Lookup", routers=[lookup_router(db)])
    from labservices.shop.main import build_app

    app = build_app()
    if which == "shop-route":
        app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ not in SHARED]
    return app


async def measure(which: str, requests: int) -> float:
    """One measurement, in this process (``LAB_TRACING`` decides tracing)."""
    from labservices.shop.main import build_app

    shop = build_app()  # seeds the shop's database, which every app here reads
    async with shop.router.lifespan_context(shop):
        app = shop if which == "shop" else build(which, Path(os.environ["LAB_HOME"]) / "data" / "shop.sqlite3")
        if app is shop:
            return await cpu_per_request(app, requests)
        async with app.router.lifespan_context(app):
            return await cpu_per_request(app, requests)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=14000)
    parser.add_argument("--one", nargs=2, metavar=("APP", "TRACING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one app, one setting, a fresh process (tracing is set up once per process)
        from labservices.common.logs import configure_logging

        configure_logging(Path(os.environ["LAB_HOME"]) / "logs")  # as the host does: a JSON line per request
        print(json.dumps(asyncio.run(measure(args.one[0], args.requests))))
        return 0
    lines = [("bare FastAPI app, the lookup", "bare", "0"),
             ("the lookup as a lab service, tracing off", "lookup", "0"),
             ("the lookup as a lab service, tracing on", "lookup", "1"),
             ("the shop's GET without the shared middleware", "shop-route", "0"),
             ("the shop's GET, tracing off", "shop", "0"),
             ("the shop's GET, tracing on", "shop", "1")]
    results = {}
    with tempfile.TemporaryDirectory() as home:
        for label, which, tracing in lines:
            env = {**os.environ, "LAB_HOME": home, "LAB_TRACING": tracing, "PYTHONPATH": str(ROOT)}
            out = subprocess.run([sys.executable, __file__, "--one", which, tracing, "--requests", str(args.requests)],
                                 env=env, capture_output=True, text=True, check=True).stdout
            results[label] = round(json.loads(out.strip().splitlines()[-1]))
            print(f"{label:<48} {results[label]:5d} µs CPU per request", file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
