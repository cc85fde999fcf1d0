"""The mailer and the lab's mailbox in one host (as `lab up` runs them), and a webhook receiver."""
from __future__ import annotations

import hashlib
import re
from typing import Iterator

import pytest
import requests

from labkit import config
from labkit.procs import free_port
from tests.conftest import running_host
from tests.payments.receiver import Receiver

AUTH = ("anystring", "mc-lab-key-0000-us1")
LIST = "a1b2c3d4e5"


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


class Mailer:
    def __init__(self) -> None:
        self.url = config.url("mailer")

    def __getattr__(self, method: str):
        def call(path: str, **kwargs) -> requests.Response:
            return requests.request(method.upper(), self.url + path, auth=kwargs.pop("auth", AUTH), timeout=15, **kwargs)
        return call

    def inbox(self, to: str) -> list[dict]:
        found = requests.get(config.url("mailbox") + "/api/v1/messages", params={"to": to}, timeout=10).json()
        return found["messages"]

    def message(self, message_id: str) -> dict:
        return requests.get(config.url("mailbox") + f"/api/v1/message/{message_id}", timeout=10).json()

    @staticmethod
    def links(text: str) -> list[str]:
        return re.findall(r"https?://\S+", text)


@pytest.fixture(scope="package")
def mailer(tmp_path_factory) -> Iterator[Mailer]:
    env = {"LAB_SMTP_URL": f"smtp://127.0.0.1:{free_port()}", "MAILER_RETRY_TIME_SCALE": "0.01"}
    with running_host(["mailer", "mailbox"], tmp_path_factory.mktemp("mailer"), env):
        yield Mailer()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()
