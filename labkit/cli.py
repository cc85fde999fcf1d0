"""The `lab` command: a thin layer that parses arguments and calls labkit's functions."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from . import workspace
from .stack import ROOT, Stack, StackError
from .tables import status_table


def _say(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    _say(workspace.sync_message(workspace.sync()))  # the student's own copy first: it never waits for the stack
    print(f"Starting the Integration Lab stack (state in {args.stack.home}) ...", file=sys.stderr)
    statuses = args.stack.up(timeout=args.timeout, progress=None if args.quiet else _say)
    print(status_table(statuses))
    print(f"\nAll {len(statuses)} components ready in {time.perf_counter() - started:.1f} s. "
          "Stop them with `lab down`.", file=sys.stderr)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = args.stack.down(progress=_say)
    print(f"Stopped {len(stopped)} component(s)." if stopped else "Nothing was running.")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    statuses = args.stack.status()
    if args.json:
        print(json.dumps({"home": str(args.stack.home), "components": [s.as_dict() for s in statuses]},
                         indent=2, ensure_ascii=False))
    else:
        print(status_table(statuses))
        host = next((s for s in statuses if s.kind == "host" and s.pss_mb), None)
        if host is not None:
            print(f"\nThe {sum(1 for s in statuses if s.kind == 'service' and s.state == 'running')} services in the "
                  f"host process share {host.pss_mb:.0f} MB (PSS); each isolated one counts on its own row.")
    healthy = all(s.health in ("healthy", "external") for s in statuses)
    return 0 if healthy or not args.check else 1


def cmd_reset(args: argparse.Namespace) -> int:
    done = args.stack.reset(progress=_say)
    print(f"Seed data restored in {len(done)} component(s).")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    if args.request_id:
        from .logs import entries, RequestLog

        found = RequestLog(args.request_id, entries(args.request_id, args.stack.logs_dir))
        if not found:
            raise StackError(f"No line in {args.stack.logs_dir} carries request id {args.request_id}; "
                             "copy it from the X-Request-ID header of the answer.")
        print("\n".join(json.dumps(e, ensure_ascii=False) for e in found) if args.json else found)
        return 0
    names = args.names or [c.name for c in args.stack.components]
    for name in names:
        if len(names) > 1:
            print(f"==> {args.stack.log_path(name)} <==")
        print(args.stack.tail(name, args.lines), end="")
    if args.follow:
        files = {n: open(args.stack.log_path(n), errors="replace") for n in names if args.stack.log_path(n).exists()}
        for fh in files.values():
            fh.seek(0, os.SEEK_END)
        try:
            while True:
                for name, fh in files.items():
                    for line in fh:
                        print(f"{name} | {line}" if len(files) > 1 else line, end="", flush=True)
                time.sleep(0.3)
        except KeyboardInterrupt:
            pass
    return 0


# JupyterLab settings every student gets: no "official Jupyter news?" pop-up, no update check.
LAB_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def jupyter_command(jupyter: str, ip: str, port: int, no_browser: bool) -> list[str]:
    """The JupyterLab command `lab start` runs: rooted at the repository, opening notebook 00, quiet."""
    argv = [jupyter, "lab", f"--ServerApp.root_dir={ROOT}", "--ip", ip, "--port", str(port),
            # Packaging noise and solutions/ stay out of a student's file browser (LAB_SHOW_SOLUTIONS=1 shows it).
            f"--ContentsManager.hide_globs={workspace.hide_globs()!r}",
            # Only what a student needs to read: the URL to open (Jupyter prints it at its "critical" level).
            "--ServerApp.log_level=WARN", "--LabApp.log_level=WARN", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if no_browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines often run as root
    first = ROOT / "notebooks" / "00-start-here.ipynb"
    if first.exists():
        # The printed URL and the browser both open the first notebook, not the launcher: JupyterLab's
        # own default_url (/lab) wins over the server's, so it is the LabApp's that must be set.
        argv.append(f"--LabApp.default_url=/lab/tree/{first.relative_to(ROOT).as_posix()}")
    return argv


def jupyter_environment(environ: dict[str, str]) -> dict[str, str]:
    """The server's environment: this Python's scripts first on PATH, so `lab status` works in its terminal."""
    scripts = os.path.dirname(sys.executable)
    path = environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        path = scripts + os.pathsep + path if path else scripts
    return {**environ, "PATH": path}


def write_lab_settings(prefix: Path = Path(sys.prefix)) -> Path | None:
    """JupyterLab's settings overrides for this environment (merged with any already there); None if read-only."""
    target = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    try:
        current = json.loads(target.read_text()) if target.exists() else {}
    except (OSError, ValueError):
        current = {}
    merged = {**current, **{k: {**current.get(k, {}), **v} for k, v in LAB_SETTINGS.items()}}
    if merged == current:
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(merged, indent=2) + "\n")
    except OSError:
        return None  # a read-only environment: the pop-up stays, nothing else changes
    return target


def _each(args: argparse.Namespace, verb: str, act) -> int:
    for name in args.names:
        result = act(name)
        state = getattr(result, "state", None) or (result.get("state") if isinstance(result, dict) else None)
        print(f"{name}: {verb}" + (f" ({state})" if state and state not in verb else ""))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    return _each(args, "stopped", lambda n: args.stack.stop(n, progress=_say))


def cmd_restart(args: argparse.Namespace) -> int:
    return _each(args, "restarted", lambda n: args.stack.restart(n, progress=_say))


def cmd_isolate(args: argparse.Namespace) -> int:
    return _each(args, "runs in a process of its own", args.stack.isolate)


def cmd_join(args: argparse.Namespace) -> int:
    return _each(args, "back in the shared host process", args.stack.join)


def cmd_kill(args: argparse.Namespace) -> int:
    result = args.stack.signal(args.name, args.signal)
    print(f"{args.name}: sent SIG{args.signal.upper().removeprefix('SIG')} to pid {result.get('pid')} "
          f"({result.get('state', 'sent')})")
    return 0


def cmd_chaos(args: argparse.Namespace) -> int:
    switches = {k: v for k, v in {"latency_ms": args.latency, "jitter_ms": args.jitter, "error_rate": args.error_rate,
                                  "error_status": args.status, "down": True if args.down else None}.items()
                if v is not None}
    if args.off and switches:
        raise StackError("Use --off alone (it switches every chaos setting off), or name the switches to set.")
    now = args.stack.chaos(args.name, **({} if args.off else switches))
    print(f"{args.name}: chaos " + ", ".join(f"{k}={v}" for k, v in now.items()))
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    if args.names:
        return _each(args, "started", lambda n: args.stack.start(n, timeout=args.timeout, progress=_say))
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not jupyter:
        raise StackError("JupyterLab is not installed in this environment; run `make setup` (or `pip install -e .`).")
    cmd_up(args)
    print("Opening JupyterLab on notebook 00: open the link below. The lab keeps running after you close it "
          "(`lab down` stops it).", file=sys.stderr)
    os.chdir(ROOT)
    write_lab_settings()
    os.execve(jupyter, jupyter_command(jupyter, args.ip, args.port, args.no_browser), jupyter_environment(dict(os.environ)))
    return 0  # not reached


def cmd_console(args: argparse.Namespace) -> int:
    from .browser import behind_proxy, console_url

    link = console_url()
    if behind_proxy() is not None:
        print(f"The lab console: {link} (on JupyterLab's own address; also in JupyterLab's Launcher: Lab console)")
    else:
        print(f"The lab console: {link}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from . import derived

    if args.check:
        stale = derived.stale()
        if stale:
            names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
            print(f"lab: {names} no longer match the service declarations; run `lab generate` and commit.",
                  file=sys.stderr)
            return 1
        print("README.md, docker-compose.yml and Dockerfile match the service declarations.")
        return 0
    written = derived.write()
    print("Wrote " + ", ".join(str(p.relative_to(ROOT)) for p in written) if written else "Nothing to change.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description="Integration Lab: run the sandbox, grade and release exercises.")
    parser.add_argument("--home", type=Path, help="state folder (default: $LAB_HOME or ~/.integration-lab)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start every lab component and wait until healthy")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness (default 120)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final table")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("start", help="start the named components; with none: `lab up`, then open JupyterLab")
    p.add_argument("names", nargs="*", metavar="NAME", help="components to start (default: the whole lab + JupyterLab)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser (remote or headless machines)")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("down", help="stop exactly what `lab up` started")
    p.set_defaults(func=cmd_down)

    for name, func, helptext in [
        ("stop", cmd_stop, "stop components: a service's port refuses connections until `lab start NAME`"),
        ("restart", cmd_restart, "stop and start components (a service gets a fresh app; its data stays)"),
        ("isolate", cmd_isolate, "run services in processes of their own, so `lab kill` can kill or freeze them"),
        ("join", cmd_join, "bring isolated services back into the shared host process"),
    ]:
        p = sub.add_parser(name, help=helptext)
        p.add_argument("names", nargs="+", metavar="NAME")
        p.set_defaults(func=func)

    p = sub.add_parser("kill", help="send a real signal to an isolated service or a broker (KILL, STOP, CONT, TERM)")
    p.add_argument("name", metavar="NAME")
    p.add_argument("-s", "--signal", default="KILL", help="KILL (default), STOP (freeze), CONT (thaw) or TERM")
    p.set_defaults(func=cmd_kill)

    p = sub.add_parser("chaos", help="slow down or break one service (its chaos switches); --off switches them off")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--latency", type=int, metavar="MS", help="delay added to every request")
    p.add_argument("--jitter", type=int, metavar="MS", help="extra random delay, 0..MS")
    p.add_argument("--error-rate", type=float, metavar="R", help="share of requests that fail, 0..1")
    p.add_argument("--status", type=int, metavar="CODE", help="status of injected failures: 500, 502, 503 or 504")
    p.add_argument("--down", action="store_true", help="answer 503 to everything, /health included")
    p.add_argument("--off", action="store_true", help="switch every chaos setting off")
    p.set_defaults(func=cmd_chaos)

    p = sub.add_parser("status", help="table of components: URL, health, pid, memory")
    p.add_argument("--json", action="store_true", help="print JSON (each component's url, health, pid, ...)")
    p.add_argument("--check", action="store_true", help="exit 1 unless every component is healthy")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("console", help="print the address of the lab console (the lab at a glance, in a browser)")
    p.set_defaults(func=cmd_console)

    p = sub.add_parser("reset", help="restore every service's seed data")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("logs", help="show the components' logs")
    p.add_argument("names", nargs="*", help="components (default: all)")
    p.add_argument("-n", "--lines", type=int, default=50)
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--request-id", metavar="ID", help="every service's lines for one request, oldest first")
    p.add_argument("--json", action="store_true", help="with --request-id: the JSON lines as they are")
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser("generate", help="write the README table, docker-compose.yml and the Dockerfile's ports "
                                        "from the service declarations")
    p.add_argument("--check", action="store_true", help="exit 1 if any of them is out of date")
    p.set_defaults(func=cmd_generate)

    try:
        from .grading import commands as grading_commands
    except ImportError:
        grading_commands = None
    if grading_commands is not None:
        grading_commands.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.stack = Stack(home=args.home)
    try:
        return args.func(args) or 0
    except StackError as exc:
        print(f"lab: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
