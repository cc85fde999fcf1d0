"""Run lab services in one process: ``python -m labservices.host [--only shop,payments] [--child]``.

`lab up` starts it with every declared service and a control API (``LAB_HOST_URL``, default
``http://127.0.0.1:8090``); logs go to one file per service under ``--logs``. ``--only`` starts
just those services (the others can be started later through the control API). ``--child``
is how the host runs an isolated service: that one service, no control API, logs on stderr;
under docker compose each container runs ``--only <name> --child`` the same way.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from labservices.common.declaration import declarations, instances
from labservices.common.logs import configure_logging

from .control import build_control_app
from .host import Host
from .runner import HostedServer, bind
from .watchdog import LoopWatchdog

log = logging.getLogger("labservices.host")

DEFAULT_CONTROL_URL = "http://127.0.0.1:8090"  # labkit.config.DEFAULT_HOST_URL


def control_url() -> str:
    return (os.environ.get("LAB_HOST_URL") or DEFAULT_CONTROL_URL).rstrip("/")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m labservices.host", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated services to start (default: all)")
    parser.add_argument("--none", action="store_true", help="start no service; wait for the control API")
    parser.add_argument("--child", action="store_true", help="run one service, no control API, log to stderr")
    parser.add_argument("--logs", type=Path, help="folder for one log file per service (default: stderr)")
    parser.add_argument("--log-level", default=os.environ.get("LAB_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> int:
    known = [i.name for i in instances()]
    names = [] if args.none else [n.strip() for n in args.only.split(",") if n.strip()] if args.only else known
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"host: no lab service is called {', '.join(unknown)}. Known services: {', '.join(known)}.",
              file=sys.stderr)
        return 2
    loop = asyncio.get_running_loop()
    # asyncio.to_thread's pool is shared by every service here: the default (CPUs + 4 threads) lets a few
    # slow calls in threads starve the rest; threads are started only when needed.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=64, thread_name_prefix="lab-thread"))
    host = Host(logs_dir=args.logs)
    host.watchdog = LoopWatchdog(loop, {s.package: s.name for s in declarations()}).start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    control = None
    if not args.child:
        address = urlsplit(control_url())
        try:
            sock = bind(address.hostname or "127.0.0.1", address.port or 8090)
        except OSError as exc:
            log.error("the host's control port %s is not free (%s)", address.port, exc.strerror)
            print(f"host: control port {address.port} is not free; set LAB_HOST_URL to another address.",
                  file=sys.stderr)
            return 1
        import uvicorn

        control = HostedServer(uvicorn.Config(build_control_app(host), lifespan="off", log_config=None,
                                              access_log=False, server_header=False))
        control_task = asyncio.create_task(control.serve(sockets=[sock]), name="serve:control")

    started = await host.start_all(names)
    host.watchdog.freeze()  # what start-up built lives as long as the host: full collections skip it
    failed = [n for n, ok in started.items() if not ok]
    for name in failed:
        log.error("%s failed to start: %s", name, host.runners[name].error, extra={"service": name})
    if args.child:
        if failed:
            print(f"host: {failed[0]} failed to start: {host.runners[failed[0]].error}", file=sys.stderr)
            await host.shutdown()
            return 1
        runner = host.runners[names[0]]
        crashed = asyncio.create_task(_until_failed(runner))
        await asyncio.wait([crashed, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
        code = 1 if runner.state == "failed" else 0
    else:
        log.info("host ready: %d running, %d failed", len(names) - len(failed), len(failed))
        await stop.wait()
        code = 0
    await host.shutdown()
    if control is not None:
        control.request_exit()
        await asyncio.gather(control_task, return_exceptions=True)
    host.watchdog.stop()
    from labservices.common import tracing

    tracing.shutdown()
    return code


async def _until_failed(runner) -> None:
    while runner.state != "failed":
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configure_logging(None if args.child else args.logs, args.log_level,
                      service=(args.only if args.child else None))
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
