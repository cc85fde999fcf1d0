"""The `lab` command: a thin layer that parses arguments and calls labkit's functions."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from .stack import ROOT, Stack, StackError

HEALTH_MARKS = {"healthy": "✓ healthy", "external": "✓ external", "unhealthy": "✗ unhealthy", "stopped": "· stopped"}


def format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def status_table(statuses) -> str:
    rows = [
        [s.name, s.url, HEALTH_MARKS.get(s.health, s.health), s.pid or "-",
         f"{s.rss_mb:.0f} MB" if s.rss_mb else "-",
         "; ".join(filter(None, [s.details.get("implementation"), s.note]))]  # which broker runs (Kafka or Tansu)
        for s in statuses
    ]
    return format_table(rows, ["SERVICE", "URL", "HEALTH", "PID", "MEMORY", "NOTE"])


def _say(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    started = time.perf_counter()
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
    healthy = all(s.health in ("healthy", "external") for s in statuses)
    return 0 if healthy or not args.check else 1


def cmd_reset(args: argparse.Namespace) -> int:
    done = args.stack.reset(progress=_say)
    print(f"Seed data restored in {len(done)} component(s).")
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
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


def jupyter_command(jupyter: str, ip: str, port: int, no_browser: bool) -> list[str]:
    """The JupyterLab command `lab start` runs: rooted at the repository, opening notebook 00."""
    argv = [jupyter, "lab", f"--ServerApp.root_dir={ROOT}", "--ip", ip, "--port", str(port),
            # The packaging folder is noise in a student's file browser.
            "--ContentsManager.hide_globs=['__pycache__', '*.pyc', '*.egg-info', '.ipynb_checkpoints', '.venv']"]
    if no_browser:
        argv.append("--no-browser")
    if os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines often run as root
    first = ROOT / "notebooks" / "00-start-here.ipynb"
    if first.exists():
        # The printed URL and the browser both open the first notebook, not the launcher.
        argv.append(f"--ServerApp.default_url=/lab/tree/{first.relative_to(ROOT).as_posix()}")
    return argv


def cmd_start(args: argparse.Namespace) -> int:
    jupyter = shutil.which("jupyter", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not jupyter:
        raise StackError("JupyterLab is not installed in this environment; run `make setup` (or `pip install -e .`).")
    cmd_up(args)
    print("Opening JupyterLab; the stack keeps running after you close it (`lab down` stops it).", file=sys.stderr)
    os.chdir(ROOT)
    os.execv(jupyter, jupyter_command(jupyter, args.ip, args.port, args.no_browser))
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lab", description="Integration Lab: run the sandbox, grade and release exercises.")
    parser.add_argument("--home", type=Path, help="state folder (default: $LAB_HOME or ~/.integration-lab)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="start every lab component and wait until healthy")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for readiness (default 120)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final table")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("start", help="`lab up`, then open JupyterLab on the course notebooks")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--ip", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true", help="do not open a browser (remote or headless machines)")
    p.set_defaults(func=cmd_start)

    p = sub.add_parser("down", help="stop exactly what `lab up` started")
    p.set_defaults(func=cmd_down)

    p = sub.add_parser("status", help="table of components: URL, health, pid, memory")
    p.add_argument("--json", action="store_true", help="print JSON (each component's url, health, pid, ...)")
    p.add_argument("--check", action="store_true", help="exit 1 unless every component is healthy")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("reset", help="restore every service's seed data")
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("logs", help="show the components' logs")
    p.add_argument("names", nargs="*", help="components (default: all)")
    p.add_argument("-n", "--lines", type=int, default=50)
    p.add_argument("-f", "--follow", action="store_true")
    p.set_defaults(func=cmd_logs)

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
