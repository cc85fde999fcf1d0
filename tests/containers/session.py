"""One run of the container path: images, the compose stack up and healthy, then everything taken back.

    with compose_run(ROOT) as run:          # builds what is missing, brings the stack up
        run.stack.exec("jupyterlab", ...)
    # gone: containers, volumes, networks, the namespace, this run's images and tags

By hand, to look at the stack (Ctrl-C takes it down)::

    .venv/bin/python -m tests.containers.session
"""
from __future__ import annotations

import json
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from tests.containers.compose import ComposeStack
from tests.containers.images import Images, is_cached, release_for
from tests.containers.podman import Podman

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    podman: Podman
    images: Images
    stack: ComposeStack
    timings: dict[str, float] = field(default_factory=dict)
    down: bool = False

    def take_down(self) -> dict[str, list[str]]:
        """Stop and remove everything this run made; what is left (empty lists when nothing is)."""
        if not self.down:
            self.down = True
            started = time.monotonic()
            result = self.stack.down()
            self.podman.stop_service()
            self.images.release_all()
            self.podman.close_netns()
            self.timings["down"] = time.monotonic() - started
            self.save_timings()
            if result.returncode != 0:
                raise RuntimeError(f"docker-compose down failed:\n{result.stdout}\n{result.stderr}")
        return self.podman.leftovers(keep=is_cached)

    def save_timings(self) -> None:
        (self.podman.logs / "timings.json").write_text(json.dumps({k: round(v, 1) for k, v in self.timings.items()}, indent=2))


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def compose_run(root: Path = ROOT, say=progress) -> Iterator[Run]:
    """The compose stack of ``root`` up and healthy under podman, and all of it gone afterwards."""
    podman = Podman(say=say)
    with podman.locked():
        podman.configure()
        podman.clear_stale(keep=is_cached)
        images = Images(podman, release_for(root / "Dockerfile"))
        stack = ComposeStack(podman, root / "docker-compose.yml")
        run = Run(podman, images, stack)
        started = time.monotonic()
        try:
            images.prepare(stack.config(), root)
            run.timings["images"] = time.monotonic() - started
            podman.open_netns()
            podman.start_service()
            stack.write_override()
            say("containers: docker-compose up, waiting for every healthcheck")
            run.timings["up"] = stack.up()
            yield run
        finally:
            run.take_down()


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `kill` takes the stack down too
    with compose_run() as run:
        progress(f"containers: up in {run.timings['up']:.0f} s; every service healthy:")
        for service, row in sorted(run.stack.containers().items()):
            progress(f"  {service:12} {row['Names'][0]}")
        progress(f"Inside: podman exec (CONTAINERS_CONF={run.podman.root}/containers.conf, "
                 f"CONTAINERS_STORAGE_CONF={run.podman.root}/storage.conf). Ctrl-C takes it all down.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
