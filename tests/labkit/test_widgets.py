"""The HTTP request explorer and the response viewer, against a real service."""
import pytest
import requests

from labkit import widgets
from labkit.procs import free_port


@pytest.fixture
def toy_env(toy_url, monkeypatch):
    monkeypatch.setenv("LAB_TOY_URL", toy_url)
    return toy_url


def test_explorer_sends_a_post_and_shows_status_headers_and_json(toy_env):
    exp = widgets.explorer("toy", "POST", "/api/notes", headers={"X-Request-ID": "explorer-1"},
                           body={"text": "з віджета", "age": 30})
    ex = exp.send()
    assert ex.status == 201 and ex.body["text"] == "з віджета"
    assert ex.headers["X-Request-ID"] == "explorer-1"
    assert "201 Created" in exp.result.value and "з віджета" in exp.result.value
    assert "POST" in exp.log.value and len(exp.history) == 1


def test_explorer_shows_the_error_envelope(toy_env):
    exp = widgets.explorer("toy", "POST", "/api/notes", body='{"text": ""}')
    ex = exp.send()
    assert ex.status == 400 and ex.body["error"]["code"] == "VALIDATION_ERROR"
    assert "#bf8700" in exp.result.value  # 4xx drawn in amber


def test_explorer_rejects_a_malformed_body_without_sending(toy_env):
    exp = widgets.explorer("toy", "POST", "/api/notes", body="{not json")
    ex = exp.send()
    assert ex.status is None and "некоректний JSON" in ex.error


def test_explorer_reports_a_bad_header_line(toy_env):
    exp = widgets.explorer("toy")
    exp.headers.value = "X-API-Key abc"
    assert "line 1" in exp.send().error


def test_send_to_a_stopped_service_gives_a_clear_message():
    ex = widgets.send("GET", f"http://127.0.0.1:{free_port()}/health")
    assert ex.status is None and "lab status" in ex.error


def test_show_renders_a_response_as_html_and_text(toy_url):
    view = widgets.show(requests.get(f"{toy_url}/api/notes"))
    assert "200 OK" in view._repr_html_()
    assert repr(view).splitlines()[1].startswith("→ 200 OK")
