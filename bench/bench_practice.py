"""Measure what notebook 08's services cost: the host's memory (PSS) with and without them, idle and busy.

    python bench/bench_practice.py [--runs 3] [--orders 40] [--json]

1. **Memory.** `lab up` (services only, fresh state folder) of the services before notebook 08
   (shop ... eventlog) and of all of them with crm, mailer, warehouse, accounting and middleware:
   the host's PSS (Binder counts shared pages once, as PSS does) right after start-up.
2. **Busy.** With all services up, the middleware runs ``--orders`` new-order workflows (CRM,
   warehouse, payments, SMTP email, the analytics event into the outbox), the mailer sends a
   campaign to 100 members and accounting takes 100 LiqPay callbacks; then PSS again, and the
   workflow's time per order (one at a time, ``?wait=true``, so each figure is one order's path).

Budget from the platform issue: all HTTP services within 150 MB PSS.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402

from labkit import components, config  # noqa: E402
from labkit.procs import free_port  # noqa: E402
from labkit.stack import Stack  # noqa: E402

BUDGET_PSS_MB = 150.0
PRACTICE = {"crm", "mailer", "warehouse", "accounting", "middleware"}
MC = ("bench", "mc-lab-key-0000-us1")
LIQPAY_KEY = "sandbox_lab_private_key_2024"


def stack_for(home: Path, names: set[str] | None) -> Stack:
    specs = [c for c in components.components() if c.kind == "service" and (names is None or c.name in names)]
    return Stack(home=home, components=[components.HostSpec(specs), *specs])


def with_free_ports() -> None:
    for comp in components.components():
        if comp.kind == "service":
            os.environ[config.env_name(comp.name)] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_HOST_URL"] = f"http://127.0.0.1:{free_port()}"
    os.environ["LAB_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"


def host_pss(stack: Stack) -> float:
    return next(s for s in stack.status() if s.kind == "host").pss_mb


def idle(label: str, names: set[str] | None, runs: int, tmp: Path) -> float:
    pss = []
    for run in range(runs):
        with_free_ports()
        stack = stack_for(tmp / f"{label}-{run}", names)
        try:
            stack.up(timeout=90)
            time.sleep(1.0)  # let start-up allocations settle
            pss.append(host_pss(stack))
        finally:
            stack.down()
    print(f"{label:<34} PSS {statistics.median(pss):.1f} MB (runs: {', '.join(f'{p:.0f}' for p in pss)})",
          file=sys.stderr)
    return round(statistics.median(pss), 1)


def order(n: int) -> dict:
    return {"order_id": f"bench-{n}", "customer": {"email": f"bench{n % 10}@example.com", "first_name": "Бенч"},
            "items": [{"sku": "EL-008", "quantity": 1, "unit_price": 299}], "total": 299, "currency": "UAH"}


def busy(orders: int, tmp: Path) -> dict:
    with_free_ports()
    stack = stack_for(tmp / "busy", None)
    try:
        stack.up(timeout=90)
        time.sleep(1.0)
        before = host_pss(stack)
        took = []
        for n in range(orders):
            started = time.perf_counter()
            run = requests.post(config.url("middleware") + "/webhooks/orders", json=order(n), params={"wait": "true"},
                                timeout=60).json()
            took.append(time.perf_counter() - started)
            assert run["status"] == "success", run
        for n in range(100):
            email = f"member{n}@example.com"
            requests.put(config.url("mailer") + f"/3.0/lists/a1b2c3d4e5/members/{hashlib.md5(email.encode()).hexdigest()}",
                         auth=MC, json={"email_address": email}, timeout=10)
        campaign = requests.post(config.url("mailer") + "/3.0/campaigns", auth=MC, timeout=10, json={
            "recipients": {"list_id": "a1b2c3d4e5"}, "settings": {"subject_line": "bench"}}).json()
        requests.put(config.url("mailer") + f"/3.0/campaigns/{campaign['id']}/content", auth=MC, timeout=10,
                     json={"html": "<p>Hi <a href='https://example.com'>x</a></p>"})
        started = time.perf_counter()
        requests.post(config.url("mailer") + f"/3.0/campaigns/{campaign['id']}/actions/send", auth=MC, timeout=120)
        campaign_s = time.perf_counter() - started
        for n in range(100):
            data = base64.b64encode(json.dumps({"order_id": f"lp-{n}", "amount": 10, "status": "success",
                                                "payment_id": n}).encode()).decode()
            signature = base64.b64encode(hashlib.sha1((LIQPAY_KEY + data + LIQPAY_KEY).encode()).digest()).decode()
            requests.post(config.url("accounting") + "/liqpay/callback", data={"data": data, "signature": signature},
                          timeout=10)
        time.sleep(1.0)
        after = host_pss(stack)
    finally:
        stack.down()
    result = {"pss_mb_before_load": before, "pss_mb_after_load": after, "orders": orders,
              "order_ms_median": round(statistics.median(took) * 1000, 1),
              "order_ms_p95": round(sorted(took)[int(0.95 * (len(took) - 1))] * 1000, 1),
              "campaign_100_members_s": round(campaign_s, 2)}
    print(f"busy: PSS {before:.1f} → {after:.1f} MB after {orders} workflows, a 100-member campaign and 100 "
          f"LiqPay callbacks; one order through the workflow {result['order_ms_median']:.0f} ms (p95 "
          f"{result['order_ms_p95']:.0f} ms); the campaign sent in {campaign_s:.2f} s", file=sys.stderr)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    everything = {c.name for c in components.components() if c.kind == "service"}
    with tempfile.TemporaryDirectory(prefix="bench-practice-") as folder:
        tmp = Path(folder)
        os.environ["LAB_HOME"] = str(tmp)
        without = idle("without notebook 08's services", everything - PRACTICE, args.runs, tmp)
        with_all = idle("with them", None, args.runs, tmp)
        load = busy(args.orders, tmp)
    result = {"services_before": len(everything - PRACTICE), "services_after": len(everything),
              "pss_mb_without": without, "pss_mb_with": with_all, "added_mb": round(with_all - without, 1), **load,
              "within_budget": max(with_all, load["pss_mb_after_load"]) <= BUDGET_PSS_MB}
    print(f"notebook 08's five services add {result['added_mb']:.1f} MB PSS; all {len(everything)} services "
          f"{'within' if result['within_budget'] else 'OVER'} the {BUDGET_PSS_MB:.0f} MB budget", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
