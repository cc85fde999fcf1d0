"""The middleware and every system it connects, in one host on the session's RabbitMQ, as `lab up` runs them."""
from __future__ import annotations

import secrets
from typing import Iterator

import pytest

from labkit.procs import free_port, wait_until
from tests.conftest import running_host
from tests.lab_http import Lab

SERVICES = ["middleware", "crm", "warehouse", "payments", "mailbox", "mailer", "shop", "carrier", "analytics"]
ATTEMPTS = 4
ENV = {"MIDDLEWARE_RETRY_ATTEMPTS": str(ATTEMPTS), "MIDDLEWARE_RETRY_WAIT_S": "0.4", "MIDDLEWARE_RETRY_MAX_WAIT_S": "1.5",
       "PAYMENTS_RETRY_TIME_SCALE": "0.001"}


def order(sku: str = "ABC", quantity: int = 1, **extra) -> dict:
    order_id = f"order-{secrets.token_hex(4)}"
    return {"order_id": order_id, "customer": {"email": f"{order_id}@example.com", "first_name": "Олена",
                                               "last_name": "Коваленко", "city": "Львів"},
            "items": [{"sku": sku, "quantity": quantity, "title": "Товар", "unit_price": 549}],
            "total": 549 * quantity, "currency": "UAH", **extra}


@pytest.fixture(scope="package")
def lab(lab_brokers, tmp_path_factory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("middleware")
    env = {**ENV, "LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
           "LAB_EVENTS_EXCHANGE": f"lab.events.mw-{secrets.token_hex(3)}"}
    with running_host(SERVICES, home, env):
        lab = Lab()
        assert wait_until(lambda: lab.get("middleware", "/admin/bus").json()["connected"], timeout=30)
        lab.home = home
        yield lab
