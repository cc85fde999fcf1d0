"""The Docker path, run for real: docker-compose.yml built and brought up under podman.

The lab image is built from the repository's Dockerfile (its FROM satisfied by a local
stand-in for python:3.X-slim), the brokers run from stand-ins for their official images,
and the whole compose file comes up with only an override for what this machine lacks
(tests/containers/compose.py). Notebooks then run in the JupyterLab container against
the containerised services, and the run takes everything back. All traffic stays on the
loopback of a private network namespace. Skipped, with the reason, where podman is missing.
"""
from __future__ import annotations

import json

import pytest

from labkit.brokers.jars import FetchError
from tests.containers.podman import unavailable
from tests.containers.session import ROOT, compose_run

pytestmark = pytest.mark.slow

NOTEBOOKS = ["00-start-here", "03-webhooks", "06-rabbitmq"]


@pytest.fixture(scope="module")
def run():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    try:
        with compose_run(ROOT) as run:
            yield run
    except FetchError as exc:  # Kafka's jars, for the Kafka stand-in
        pytest.skip(f"the Kafka stand-in needs Kafka's jars: {exc}")


def test_every_compose_service_comes_up_healthy(run):
    containers = run.stack.containers()
    assert set(containers) == set(run.stack.services)
    for service in containers:
        assert run.stack.health(service) == "healthy", run.stack.describe()


def test_containers_reach_each_other_only_over_loopback(run):
    assert run.podman.interfaces() == ["lo"]  # the namespace has no other way out
    names = sorted(run.stack.services)
    lookup = "import json, socket, sys; print(json.dumps({n: socket.gethostbyname(n) for n in sys.argv[1:]}))"
    out = run.stack.exec("jupyterlab", "python", "-c", lookup, *names)
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout) == {name: "127.0.0.1" for name in names}


@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_the_jupyterlab_container(run, name):
    out = run.stack.exec("jupyterlab", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                         "--ExecutePreprocessor.timeout=180", "--output-dir", "/tmp/executed",
                         f"notebooks/{name}.ipynb", workdir="/lab")
    assert out.returncode == 0, f"{name} failed in the container:\n{(out.stdout + out.stderr)[-4000:]}"
    executed = json.loads(run.stack.exec("jupyterlab", "cat", f"/tmp/executed/{name}.ipynb").stdout)
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), "some cells did not run"
    assert not [o for c in code for o in c["outputs"] if o["output_type"] == "error"]


def test_taking_it_down_leaves_no_containers_volumes_networks_or_images(run):
    left = run.take_down()
    assert left == {"containers": [], "volumes": [], "networks": [], "images": [], "network namespaces": []}
