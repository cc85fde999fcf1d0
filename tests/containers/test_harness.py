"""The harness itself: the override says only what this machine lacks, names and versions read right,
and a machine without podman gets a skip that says what to install."""
from __future__ import annotations

import shlex
import shutil

import pytest

from tests.containers import podman as podman_module
from tests.containers.compose import ComposeStack, parse_duration, shell_form
from tests.containers.images import dockerfile_python, normalise, release_for
from tests.containers.podman import Podman
from tests.containers.session import ROOT


@pytest.fixture
def stack(tmp_path) -> ComposeStack:
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose (Debian's package) is not installed; scripts/system-deps.sh test installs it")
    podman = Podman(root=tmp_path)
    podman.netns = "integration-lab-test"
    return ComposeStack(podman, ROOT / "docker-compose.yml")


def test_override_joins_every_service_to_the_namespace_and_maps_every_name_to_loopback(stack):
    services = stack.config()
    override = stack.override_for(services)["services"]
    assert set(override) == set(services)
    for entry in override.values():
        assert entry["network_mode"] == "ns:/run/netns/integration-lab-test"
        assert sorted(entry["extra_hosts"]) == sorted(f"{name}:127.0.0.1" for name in services)
        assert set(entry) <= {"network_mode", "extra_hosts", "healthcheck"}


def test_override_keeps_each_healthcheck_command_only_changing_its_form(stack):
    services = stack.config()
    override = stack.override_for(services)["services"]
    for name, svc in services.items():
        test = svc["healthcheck"]["test"]
        if test[0] == "CMD":
            kind, command = override[name]["healthcheck"]["test"]
            assert kind == "CMD-SHELL" and shlex.split(command) == test[1:]
        else:
            assert "healthcheck" not in override[name]


def test_shell_form_quotes_arguments_with_spaces_and_quotes():
    test = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://x:1/health', timeout=2)"]
    kind, command = shell_form(test)
    assert kind == "CMD-SHELL" and shlex.split(command) == test[1:]
    assert shell_form(["CMD-SHELL", "true"]) == ["CMD-SHELL", "true"]


@pytest.mark.parametrize("value, seconds", [("5s", 5), ("1m30s", 90), ("500ms", 0.5), ("2h", 7200), (None, 30), (7, 7)])
def test_parse_duration_reads_compose_durations(value, seconds):
    assert parse_duration(value, 30.0) == pytest.approx(seconds)


@pytest.mark.parametrize("image, stored", [
    ("rabbitmq:4-management", "docker.io/library/rabbitmq:4-management"),
    ("apache/kafka:4.4.0", "docker.io/apache/kafka:4.4.0"),
    ("python", "docker.io/library/python:latest"),
    ("localhost/integration-lab:latest", "localhost/integration-lab:latest"),
    ("registry.example:5000/team/app:1", "registry.example:5000/team/app:1"),
])
def test_normalise_names_images_as_podman_stores_them(image, stored):
    assert normalise(image) == stored


def test_the_dockerfile_starts_from_a_python_image_a_debian_release_stands_in_for(tmp_path):
    base, version = dockerfile_python(ROOT / "Dockerfile")
    assert base.startswith("python:") and release_for(ROOT / "Dockerfile")
    other = tmp_path / "Dockerfile"
    other.write_text("FROM python:3.12-slim AS build\nFROM build\n")
    assert dockerfile_python(other) == ("python:3.12-slim", "3.12")
    with pytest.raises(RuntimeError, match="no Debian release has Python 3.12"):
        release_for(other)
    other.write_text("FROM node:20\n")
    with pytest.raises(RuntimeError, match="can stand in only for"):
        dockerfile_python(other)


def test_without_podman_the_reason_names_the_packages_and_the_script_that_installs_them(monkeypatch):
    monkeypatch.setattr(podman_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(podman_module.shutil, "which", lambda cmd: None if cmd in ("podman", "runc") else f"/usr/bin/{cmd}")
    reason = podman_module.unavailable()
    assert "missing Debian packages: podman, runc" in reason and "scripts/system-deps.sh test" in reason
    monkeypatch.setattr(podman_module.shutil, "which", lambda cmd: f"/usr/bin/{cmd}")
    assert podman_module.unavailable() is None
    monkeypatch.setattr(podman_module.os, "geteuid", lambda: 1000)
    assert "need root" in podman_module.unavailable()
