"""The two ways to install the lab (pip and conda) and the compose file stay in step."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from labkit import config
from labkit.components import components
from labservices.common.declaration import instance

ROOT = Path(__file__).resolve().parents[2]


def _normalise(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower(), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(map(_normalise, reqs))


# What conda installs beside the Python packages: the brokers' servers, which pip does not have.
CONDA_SYSTEM_PACKAGES = {"rabbitmq-server", "openjdk", "maven"}


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = [d for d in env["dependencies"] if isinstance(d, str)]
    pip_section = next((d["pip"] for d in env["dependencies"] if isinstance(d, dict)), [])
    names += [d for d in pip_section if not d.startswith("-")]  # PyPI-only packages, pip-installed by conda
    reqs = dict(map(_normalise, (d for d in names if not d.startswith(("python", "pip")) or d.startswith("python-"))))
    return {name: spec for name, spec in reqs.items() if name not in CONDA_SYSTEM_PACKAGES}


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    pip, conda = pyproject_requirements(), conda_requirements()
    assert sorted(pip) == sorted(conda), "environment.yml and pyproject.toml name different packages"
    drift = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert not drift, f"version ranges drifted (pyproject, environment.yml): {drift}"


def test_environment_yml_installs_the_lab_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip_section


def _compose_config() -> dict:
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose (Debian's package) is not installed; scripts/system-deps.sh test installs it")
    out = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_compose_file_is_valid_and_runs_every_component():
    services = _compose_config()["services"]
    for comp in components():
        if comp.kind != "host":  # under compose each service is a container of its own
            assert comp.name in services, f"{comp.name} is missing from docker-compose.yml"
    assert "jupyterlab" in services and "host" not in services


def test_every_compose_service_has_a_healthcheck_and_waits_for_healthy_dependencies():
    services = _compose_config()["services"]
    for name, svc in services.items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert cond == {"condition": "service_healthy"}, f"{name} starts before {dep} is healthy"
    assert set(services["jupyterlab"]["depends_on"]) >= {c.name for c in components() if c.kind != "host"}


def test_jupyterlab_in_compose_finds_every_service_by_env():
    env = _compose_config()["services"]["jupyterlab"]["environment"]
    for comp in (c for c in components() if c.kind == "service"):  # brokers: tests/brokers/test_compose.py
        assert env[config.env_name(comp.name)].startswith(f"http://{comp.name}:")


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make start" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_table_lists_every_service_and_port(monkeypatch):
    for var in [v for v in os.environ if v.startswith("LAB_")]:
        monkeypatch.delenv(var)  # the default ports, not the free ones a session's stack runs on
    readme = (ROOT / "README.md").read_text()
    for comp in components():
        if comp.kind == "host":
            continue
        service = instance(comp.name).service.name if comp.kind == "service" else comp.name  # catalog-2: catalog's row
        row = next((l for l in readme.splitlines() if l.startswith(f"| {service} ")), None)
        assert row, f"README's service table has no row for {service}"
        assert comp.address.rsplit(":", 1)[1] in row


def test_files_derived_from_the_declarations_are_current():
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "generate", "--check"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("LAB_")})
    assert out.returncode == 0, out.stderr


def test_each_service_container_runs_the_host_with_that_one_service():
    services = _compose_config()["services"]
    for comp in (c for c in components() if c.kind == "service"):
        assert services[comp.name]["command"] == ["python", "-m", "labservices.host", "--only", comp.name, "--child"]
        assert services[comp.name]["environment"]["LAB_BIND_HOST"] == "0.0.0.0"
