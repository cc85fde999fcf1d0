"""A new service is its package plus one declaration: the lab finds it everywhere from that alone."""
from __future__ import annotations

import sys
import textwrap

import pytest
import requests
import yaml

from labkit import components, config, derived
from labkit.views import ServicesView
from labservices.common.declaration import Service, declarations, lab_hosts

PACKAGE = "quuxservice"


@pytest.fixture
def quux(tmp_path, monkeypatch):
    """A brand-new service written the way the guide says: a package with a declaration and a main.py."""
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent(f'''
        """Quux: a service the tests write on the spot."""
        from labservices.common.declaration import Service

        SERVICE = Service(name="quux", port=8777, title="Quux", teaches="a new lesson",
                          about="новий урок", notebooks="09", package="{PACKAGE}")
    '''))
    (package / "main.py").write_text(textwrap.dedent('''
        from fastapi import APIRouter

        from labservices.common import create_app

        from . import SERVICE

        router = APIRouter()


        @router.get("/api/quux")
        def quux() -> dict:
            """Say quux."""
            return {"quux": True}


        def build_app(instance=None):
            return create_app(instance or SERVICE.name, title=SERVICE.title, routers=[router])
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{':'.join(sys.path)}")
    monkeypatch.setenv("LAB_SERVICE_PACKAGES", PACKAGE)
    for var in ("LAB_QUUX_URL", "LAB_SHOP_URL", "LAB_PAYMENTS_URL", "LAB_INSPECTOR_URL"):
        monkeypatch.delenv(var, raising=False)
    yield tmp_path


def test_its_address_comes_from_its_declaration_and_its_variable(quux, monkeypatch):
    assert config.url("quux") == "http://127.0.0.1:8777"
    monkeypatch.setenv("LAB_QUUX_URL", "http://quux:8777/")
    assert config.url("quux") == "http://quux:8777"


def test_it_is_a_component_of_the_stack_and_a_host_the_ssrf_guard_allows(quux):
    assert "quux" in [c.name for c in components.components() if c.kind == "service"]
    assert "quux" in lab_hosts()


def test_it_has_a_row_in_the_readme_and_notebook_00(quux):
    assert "| quux | 8777 | a new lesson | 09 |" in derived.readme_table()
    assert ("quux", "http://127.0.0.1:8777", "новий урок", "09") in ServicesView().rows()


def test_compose_runs_it_in_a_container_and_the_dockerfile_exposes_its_port(quux):
    services = yaml.safe_load(derived.compose())["services"]
    assert services["quux"]["command"] == ["python", "-m", "labservices.host", "--only", "quux", "--child"]
    assert services["quux"]["ports"] == ["127.0.0.1:8777:8777"]
    assert services["jupyterlab"]["environment"]["LAB_QUUX_URL"] == "http://quux:8777"
    assert services["shop"]["environment"]["LAB_QUUX_URL"] == "http://quux:8777"
    assert "quux" in services["jupyterlab"]["depends_on"]
    exposed = derived.dockerfile("FROM x\nEXPOSE 1\n").split("EXPOSE ")[1].split()
    assert "8777" in exposed and "8001" in exposed and exposed[-1] == "8888"


def test_lab_up_runs_it_in_the_host(quux, tmp_path):
    from tests.conftest import running_host

    with running_host(["quux"], tmp_path / "home") as stack:
        status = next(s for s in stack.status() if s.name == "quux")
        assert status.health == "healthy" and status.state == "running"
        assert requests.get(config.url("quux") + "/api/quux").json() == {"quux": True}
        assert requests.get(config.url("quux") + "/health").json()["service"] == "quux"


def test_two_services_cannot_claim_one_port(quux, monkeypatch):
    (quux / "clash").mkdir()
    (quux / "clash" / "__init__.py").write_text(
        "from labservices.common.declaration import Service\n"
        "SERVICE = Service(name='clash', port=8777, title='Clash', teaches='x', package='clash')\n")
    monkeypatch.setenv("LAB_SERVICE_PACKAGES", f"{PACKAGE},clash")
    with pytest.raises(ValueError, match="quux and clash declare the same port 8777"):
        declarations()


@pytest.mark.parametrize("name, port", [("Bad Name", 8001), ("ok", 80)])
def test_a_declaration_is_checked_when_it_is_made(name, port):
    with pytest.raises(ValueError):
        Service(name=name, port=port, title="x", teaches="x")
