"""Deliveries are on disk before they are sent: killing the service mid-schedule loses none."""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import pytest

from labkit.procs import terminate, wait_until
from tests.conftest import start_service
from tests.payments.conftest import Pay
from tests.payments.receiver import Receiver


@contextmanager
def payments(home: Path, time_scale: float):
    """A payments service on ``home``'s database; yields (Pay, process) so a test can kill it."""
    env = {"PAYMENTS_RETRY_TIME_SCALE": str(time_scale), "PAYMENTS_DELIVERY_TIMEOUT_S": "1"}
    address, proc = start_service("payments", home, env)
    try:
        yield Pay(address), proc
    finally:
        terminate(proc.pid)
        proc.wait(timeout=10)


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_killed_mid_schedule_the_schedule_carries_on_after_a_restart(tmp_path):
    receiver = Receiver(default=500).start()
    try:
        with payments(tmp_path, time_scale=0.005) as (pay, proc):  # 0.3 s, 1.5 s, 4.5 s, 18 s
            pay.endpoint(receiver.url, ["payment_intent.created"])
            event_id = pay.trigger("payment_intent.created")["events"][0]
            pay.delivery_when(lambda d: d["attempts_made"] == 2, event_id=event_id)
            kill(proc)
        assert len(receiver.received) == 2
        receiver.answer(then=200)
        with payments(tmp_path, time_scale=0.005) as (pay, _):
            d = pay.delivery_when(lambda d: d["status"] == "succeeded", timeout=15, event_id=event_id)
        assert [a["number"] for a in d["attempts"]] == [1, 2, 3]
        assert [a["status_code"] for a in d["attempts"]] == [500, 500, 200]
        assert [r.event_id for r in receiver.received] == [event_id] * 3
    finally:
        receiver.stop()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_no_delivery_is_lost_across_a_restart(tmp_path, how):
    """50 events while the receiver is down; stop the service; bring both back: all 50 arrive."""
    receiver = Receiver().start()
    url = receiver.url
    receiver.stop()
    with payments(tmp_path, time_scale=0.001) as (pay, proc):
        pay.endpoint(url, ["payment_intent.created"])
        fired = [pay.trigger("payment_intent.created")["events"][0] for _ in range(50)]
        assert wait_until(lambda: all(d["attempts_made"] >= 1 for d in pay.deliveries()), timeout=15)
        if how == "SIGKILL":
            kill(proc)
        else:
            terminate(proc.pid)
            proc.wait(timeout=10)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    import socket

    from labkit.grading.appserver import AppServer

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    revived = Receiver()
    revived.server = AppServer(revived.app(), sock=sock).start()
    try:
        with payments(tmp_path, time_scale=0.001) as (pay, _):
            assert wait_until(lambda: all(d["status"] == "succeeded" for d in pay.deliveries()), timeout=30)
            delivered = {r.event_id for r in revived.received}
        lost = set(fired) - delivered
        assert not lost, f"{len(lost)} deliveries lost"
    finally:
        revived.stop()
