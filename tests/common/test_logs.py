"""JSON structured logs carry the request id and the lecture's `extra=` fields."""
import json
import logging

from labkit.procs import wait_until
from labservices.common.context import request_id_var
from labservices.common.logs import JsonFormatter


def test_log_line_is_json_with_request_id_and_extra_fields():
    record = logging.LogRecord("crm", logging.INFO, __file__, 1, "CRM sync successful", None, None)
    record.created = 1707388245.1235  # 2024-02-08T10:30:45.1235 UTC
    record.order_id = 12345
    record.action = "crm_sync_success"
    token = request_id_var.set("req_abc123")
    try:
        line = JsonFormatter("shop").format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["message"] == "CRM sync successful"
    assert entry["ts"] == "2024-02-08T10:30:45.123Z"  # the lecture's timestamps, to the millisecond
    assert entry["request_id"] == "req_abc123"
    assert (entry["order_id"], entry["action"], entry["service"]) == (12345, "crm_sync_success", "shop")


def test_service_log_file_has_one_json_access_line_per_request(toy_url, tmp_path_factory):
    import requests

    rid = "log-check-1"
    requests.get(f"{toy_url}/api/notes", headers={"X-Request-ID": rid})
    logs = {p.resolve() for p in tmp_path_factory.getbasetemp().glob("toy*/toy.log")}

    def access_lines() -> list[dict]:
        lines = [json.loads(l) for p in logs for l in p.read_text().splitlines() if l.startswith("{")]
        return [l for l in lines if l.get("request_id") == rid and l["logger"] == "labservices.access"]

    # The access line is written just after the response is sent: wait for it to land.
    wait_until(lambda: access_lines(), timeout=5)
    access = access_lines()
    assert len(access) == 1
    assert access[0]["status"] == 200 and access[0]["route"] == "/api/notes"
