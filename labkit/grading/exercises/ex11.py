"""ex11: monitoring. A worker's metrics in Prometheus's format, and alert rules over them.

The student's worker syncs orders to a "CRM" (an inspector bin that answers as the check
tells it: 200, 500, slowly). The checks call ``process_jobs`` against such bins and read the
worker's ``metrics_app`` (a ``prometheus_client`` ASGI app, served like ex03's app) to see the
counters, the histogram and the queue gauge move. The rules from ``alert_rules()`` go through
``promtool check rules`` and the checker's own ``promtool test rules`` unit tests (annotations
dropped: names, expressions, ``for`` and labels are graded), then into a private Prometheus
(the lab's own binary, 1 s intervals, see ``labkit.monitoring.private``) that scrapes the
worker while the checker provokes failures and slow answers: the alerts must fire, then resolve.
"""
from __future__ import annotations

import json
import math
import threading
import time

import requests
import yaml

from labkit.monitoring.exposition import families, sample_value
from labkit.monitoring.private import PrivatePrometheus, PrometheusFailed, PrometheusMissing
from labkit.monitoring.promql import PrometheusUnavailable, alerts, query
from labkit.monitoring.rulefiles import PromtoolMissing, check_rules, test_rules

from ..exercise import Check, CheckFailed, Context, Exercise, expect, expect_equal, short

SERVICES = ("inspector",)
METRICS = {"worker_jobs": "counter", "worker_job_duration_seconds": "histogram", "worker_queue_depth": "gauge"}
SHOWN = {"worker_jobs": "worker_jobs_total"}
ALERTS = {"WorkerHighErrorRate": "critical", "WorkerSlowJobs": "warning", "WorkerBacklog": "warning"}
BINS = {"ok": {"status": 200}, "failing": {"status": 500}, "slow": {"status": 200, "delay_ms": 300},
        "slow_failing": {"status": 500, "delay_ms": 600}}
# The live run is one check's work, and `lab grade` stops a check after 30 s (Limits.check_timeout): Prometheus
# starts and the worker runs in ~13 s, the solution's alerts fire ~3 s after the failures and resolve ~2 s after
# the recovery (measured), so the waits get at most LIVE_FIRE_S and LIVE_RESOLVE_S within LIVE_BUDGET_S in all.
LIVE_FIRE_S = 10
LIVE_RESOLVE_S = 8
LIVE_BUDGET_S = 25


# --- the world the worker talks to --------------------------------------------------------------


def bin_url(ctx: Context, kind: str) -> str:
    """A bin of the inspector that answers as ``BINS[kind]`` says, made once per run."""
    key = f"ex11:bin:{kind}"
    if key not in ctx.scratch:
        resp = requests.post(ctx.url("inspector") + "/api/bins", timeout=10,
                             json={"name": f"ex11 {kind} {ctx.token}", "response": BINS[kind]})
        if resp.status_code != 201:
            raise CheckFailed("новий бін в інспекторі", f"{resp.status_code} {resp.text[:100]}",
                              "Інспектор не створив бін; перевірте `lab status` і спробуйте ще раз.")
        ctx.scratch[key] = resp.json()
    return ctx.scratch[key]["url"]


def captured(ctx: Context, kind: str) -> list[dict]:
    bin_id = ctx.scratch[f"ex11:bin:{kind}"]["id"]
    return requests.get(f"{ctx.url('inspector')}/api/bins/{bin_id}/requests", timeout=10).json()["data"]


def teardown(ctx: Context) -> None:
    for key, made in list(ctx.scratch.items()):
        if key.startswith("ex11:bin:"):
            requests.delete(f"{ctx.url('inspector')}/api/bins/{made['id']}", timeout=10)


def jobs(ctx: Context, n: int, what: str) -> list[dict]:
    return [{"order_id": f"{what}-{ctx.token}-{i}", "action": "crm_sync"} for i in range(n)]


def exposition(ctx: Context) -> str:
    """What the student's ``metrics_app`` answers to Prometheus's GET /metrics."""
    url = ctx.app_url("metrics_app")
    try:
        resp = requests.get(url + "/metrics", timeout=5)
    except requests.RequestException as exc:
        raise CheckFailed("metrics_app відповідає на GET /metrics", type(exc).__name__) from None
    expect(resp.status_code == 200, "GET /metrics → 200", f"{resp.status_code}")
    try:
        families(resp.text)
    except ValueError as exc:
        raise CheckFailed("текстовий формат Prometheus", f"не розібрати: {exc}") from None
    return resp.text


def process(ctx: Context, kind: str, batch: list[dict]) -> dict:
    result = ctx.call("process_jobs", bin_url(ctx, kind), batch)
    expect(isinstance(result, dict), "process_jobs повертає dict {'ok': ..., 'failed': ...}", result)
    return result


# --- step 1 and 2: the metrics and the worker --------------------------------------------------------


def check_metrics_declared(ctx: Context) -> None:
    found = families(exposition(ctx))
    if not any(name.startswith("worker_") for name in found):
        raise CheckFailed(", ".join(SHOWN.get(n, n) for n in METRICS), "жодної метрики worker_*",
                          "У metrics_app немає метрик воркера: означте їх у клітинці кроку 1 з registry=REGISTRY.")
    for name, kind in METRICS.items():
        expect(found.get(name) == kind, f"{SHOWN.get(name, name)}: {kind}",
               f"{SHOWN.get(name, name)}: {found.get(name, 'немає')}")


def check_sends_jobs(ctx: Context) -> None:
    batch = jobs(ctx, 3, "send")
    process(ctx, "ok", batch)
    got = [r for r in captured(ctx, "ok") if isinstance(r.get("json"), dict)
           and str(r["json"].get("order_id", "")).startswith(f"send-{ctx.token}")]
    expect_equal([(r["method"], r["json"]) for r in got], [("POST", j) for j in batch], "запити, що отримала CRM")


def check_counts_outcomes(ctx: Context) -> None:
    before = exposition(ctx)
    result = process(ctx, "ok", jobs(ctx, 3, "ok"))
    expect_equal(result, {"ok": 3, "failed": 0}, "process_jobs(CRM, яка відповідає 200, 3 завдання)")
    result = process(ctx, "failing", jobs(ctx, 2, "fail"))
    expect_equal(result, {"ok": 0, "failed": 2}, "process_jobs(CRM, яка відповідає 500, 2 завдання)")
    refused = ctx.call("process_jobs", "http://127.0.0.1:9/crm", jobs(ctx, 1, "refused"))
    expect_equal(refused, {"ok": 0, "failed": 1}, "process_jobs(CRM, що не приймає з'єднань, 1 завдання)")
    after = exposition(ctx)
    for outcome, wanted in (("ok", 3), ("failed", 3)):
        grew = sample_value(after, "worker_jobs_total", outcome=outcome) - \
            sample_value(before, "worker_jobs_total", outcome=outcome)
        expect(grew == wanted, f'worker_jobs_total{{outcome="{outcome}"}} зріс на {wanted}', f"зріс на {grew:g}")


def check_times_jobs(ctx: Context) -> None:
    """Two slow jobs that succeed and one slower that fails: a failed job's time counts too (it is what alerts see)."""
    before = exposition(ctx)
    process(ctx, "slow", jobs(ctx, 2, "slow"))
    process(ctx, "slow_failing", jobs(ctx, 1, "slow-failed"))
    after = exposition(ctx)
    count = sample_value(after, "worker_job_duration_seconds_count") - sample_value(before, "worker_job_duration_seconds_count")
    total = sample_value(after, "worker_job_duration_seconds_sum") - sample_value(before, "worker_job_duration_seconds_sum")
    expect(count == 3, "worker_job_duration_seconds_count зріс на 3 (два вдалі завдання й одне невдале)",
           f"зріс на {count:g}")
    expect(total >= 1.15, "worker_job_duration_seconds_sum зріс щонайменше на 1.2 с (CRM відповідала 0.3, 0.3 і 0.6 с)",
           f"зріс на {total:.3f} с")


def check_queue_depth(ctx: Context) -> None:
    exposition(ctx)  # the app is up before the worker starts
    url = ctx.app_url("metrics_app") + "/metrics"
    seen: list[float] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                seen.append(sample_value(requests.get(url, timeout=2).text, "worker_queue_depth", default=math.nan))
            except (requests.RequestException, ValueError):
                pass
            done.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        process(ctx, "slow", jobs(ctx, 6, "queue"))
    finally:
        done.set()
        watcher.join(timeout=5)
    peak = max((v for v in seen if not math.isnan(v)), default=math.nan)
    expect(peak >= 4, "worker_queue_depth під час роботи показує, скільки завдань чекає (з 6 — щонайменше 4)",
           f"найбільше бачили {peak:g}" if not math.isnan(peak) else "метрики worker_queue_depth немає")
    final = sample_value(exposition(ctx), "worker_queue_depth", default=math.nan)
    expect(final == 0, "worker_queue_depth = 0, коли все зроблено", f"{final:g}")


# --- step 3: the rules ---------------------------------------------------------------------------------


def rules_text(ctx: Context) -> str:
    if "ex11:rules" not in ctx.scratch:
        text = ctx.call("alert_rules")
        expect(isinstance(text, str), "alert_rules() повертає текст YAML (str)", type(text).__name__)
        ctx.scratch["ex11:rules"] = text
    return ctx.scratch["ex11:rules"]


def promtool(run, *args):
    try:
        return run(*args)
    except PromtoolMissing as exc:
        raise CheckFailed("promtool", "не встановлено", str(exc)) from None


def check_rules_valid(ctx: Context) -> None:
    result = promtool(check_rules, rules_text(ctx))
    expect(result.ok, "promtool check rules: SUCCESS", short(result.output.strip(), 300))
    names = {r.get("alert") for g in yaml.safe_load(rules_text(ctx)).get("groups", []) for r in g.get("rules", [])}
    missing = sorted(set(ALERTS) - names)
    expect(not missing, f"алерти {', '.join(ALERTS)}", f"немає: {', '.join(missing)}")


def valid_rules(ctx: Context) -> str:
    """The student's rules, once promtool accepts them (else this check fails pointing at ex11.rules_valid)."""
    check = promtool(check_rules, rules_text(ctx))
    expect(check.ok, "правила, які приймає promtool check rules", short(check.output.strip(), 200),
           "Спершу виправте правила: їх не приймає promtool (див. перевірку ex11.rules_valid).")
    return rules_text(ctx)


def series_test(name: str, series: dict[str, str], fires: bool, at: str = "10s", quiet_at: str | None = "3s") -> dict:
    """A promtool test group: these series; at ``at`` the alert fires (or not), and it waits its `for`."""
    expected = [{"exp_labels": {"severity": ALERTS[name]}}] if fires else []
    checks = [{"eval_time": at, "alertname": name, "exp_alerts": expected}]
    if fires and quiet_at:
        checks.insert(0, {"eval_time": quiet_at, "alertname": name, "exp_alerts": []})
    return {"interval": "1s", "input_series": [{"series": s, "values": v} for s, v in series.items()],
            "alert_rule_test": checks}


def jobs_series(ok_per_s: int, failed_per_s: int) -> dict[str, str]:
    return {'worker_jobs_total{outcome="ok"}': f"0+{ok_per_s}x30",
            'worker_jobs_total{outcome="failed"}': f"0+{failed_per_s}x30"}


def duration_series(fast_per_s: int, slow_per_s: int) -> dict[str, str]:
    """Histogram series: ``fast`` jobs take ~0.05 s, ``slow`` ones ~0.7 s (prometheus_client's default buckets)."""
    buckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
    out = {}
    for le in buckets:
        per_s = (fast_per_s if le >= 0.05 else 0) + (slow_per_s if le >= 0.75 else 0)
        out[f'worker_job_duration_seconds_bucket{{le="{le}"}}'] = f"0+{per_s}x30"
    total = fast_per_s + slow_per_s
    out['worker_job_duration_seconds_bucket{le="+Inf"}'] = f"0+{total}x30"
    out["worker_job_duration_seconds_count"] = f"0+{total}x30"
    out["worker_job_duration_seconds_sum"] = f"0+{fast_per_s * 0.05 + slow_per_s * 0.7:g}x30"
    return out


def slow_then_fast() -> dict[str, str]:
    """20 slow jobs a second for 20 s, then 10 fast ones a second: half of all were slow, none of the last 30 s."""
    out = {}
    for le in ["0.005", "0.01", "0.025"]:
        out[f'worker_job_duration_seconds_bucket{{le="{le}"}}'] = "0x60"
    for le in ["0.05", "0.075", "0.1", "0.25", "0.5"]:
        out[f'worker_job_duration_seconds_bucket{{le="{le}"}}'] = "0x20 0+10x40"
    for le in ["0.75", "1.0", "2.5", "5.0", "7.5", "10.0", "+Inf"]:
        out[f'worker_job_duration_seconds_bucket{{le="{le}"}}'] = "0+20x20 400+10x40"
    out["worker_job_duration_seconds_count"] = "0+20x20 400+10x40"
    out["worker_job_duration_seconds_sum"] = "0+14x20 280+0.5x40"
    return out


UNIT_TESTS = {
    "WorkerHighErrorRate": [
        series_test("WorkerHighErrorRate", jobs_series(10, 5), fires=True),  # a third failed
        series_test("WorkerHighErrorRate", jobs_series(10, 3), fires=True, quiet_at=None),  # 23 %
        series_test("WorkerHighErrorRate", jobs_series(10, 2), fires=False),  # 17 %: under 20 %
        series_test("WorkerHighErrorRate", jobs_series(10, 0), fires=False),
        # Failures that stopped more than 30 s ago: a rate says no; totals since the start would say yes.
        series_test("WorkerHighErrorRate", {'worker_jobs_total{outcome="ok"}': "0+10x60",
                                            'worker_jobs_total{outcome="failed"}': "0+20x10 200x50"},
                    fires=False, at="55s"),
    ],
    "WorkerSlowJobs": [
        series_test("WorkerSlowJobs", duration_series(0, 4), fires=True),  # every job slow
        series_test("WorkerSlowJobs", duration_series(18, 2), fires=True, quiet_at=None),  # 10 % slow: p95 slow, mean fast
        series_test("WorkerSlowJobs", duration_series(40, 1), fires=False),  # 2.4 % slow: p95 fast
        series_test("WorkerSlowJobs", slow_then_fast(), fires=False, at="55s"),  # slow only more than 30 s ago
    ],
    "WorkerBacklog": [
        series_test("WorkerBacklog", {"worker_queue_depth": "15x30"}, fires=True),
        series_test("WorkerBacklog", {"worker_queue_depth": "10x30"}, fires=False),  # over 10, not at 10
        series_test("WorkerBacklog", {"worker_queue_depth": "0 0 15 15 15 0x25"}, fires=False),  # 3 s: under `for`
    ],
}

UNIT_WHAT = {
    "WorkerHighErrorRate": "частка невдалих завдань за 30 с > 0.2 протягом 5 с (33 % і 23 % — так; 17 %, 0 % і "
                           "збої понад 30 с тому — ні)",
    "WorkerSlowJobs": "95-й перцентиль тривалості за 30 с > 0.5 с протягом 5 с (10 % повільних — так; 2 % і "
                      "повільні понад 30 с тому — ні)",
    "WorkerBacklog": "worker_queue_depth > 10 протягом 5 с (15 — так; 10 і сплеск на 3 с — ні)",
}


def unit_check(name: str):
    def check(ctx: Context) -> None:
        tests = {"evaluation_interval": "1s", "tests": UNIT_TESTS[name]}
        # Annotations are the student's own words: graded are names, expressions, `for` and labels.
        result = promtool(test_rules, valid_rules(ctx), tests, False)
        expect(result.ok, f"{name}: {UNIT_WHAT[name]}", unit_failure(result.output))

    return check


def unit_failure(output: str) -> str:
    """promtool's complaint, short: which eval time, what was expected and what came."""
    flat = " ".join(output.split())
    if "FAILED" in flat:
        flat = flat[flat.index("FAILED"):]
    return short(flat.replace("Annotations:{}", ""), 400)


# --- live: a real Prometheus scrapes the worker; failures are provoked ------------------------------


def live(ctx: Context) -> dict:
    """One run: the worker healthy, then failing and slow, then healthy again; what Prometheus said each time."""
    if "ex11:live" not in ctx.scratch:
        try:
            ctx.scratch["ex11:live"] = _live_run(ctx)
        except Exception as exc:  # noqa: BLE001 - kept and raised again by each live check, never run twice
            ctx.scratch["ex11:live"] = exc
    if isinstance(ctx.scratch["ex11:live"], Exception):
        raise ctx.scratch["ex11:live"]
    return ctx.scratch["ex11:live"]


def _live_run(ctx: Context) -> dict:
    rules = valid_rules(ctx)
    run: dict = {"fired": {}, "still": None}
    target = ctx.app_url("metrics_app")
    deadline = time.monotonic() + LIVE_BUDGET_S
    try:
        with PrivatePrometheus(rules, {"worker": target}) as prom:
            if not _wait(lambda: query('up{job="worker"} == 1', base=prom.url), 10, deadline):
                raise CheckFailed("Prometheus збирає метрики з metrics_app", "ціль недоступна",
                                  "Prometheus не зміг прочитати metrics_app: перевірте крок 1.")
            process(ctx, "ok", jobs(ctx, 5, "live-ok"))
            time.sleep(2)  # two scrapes of the healthy worker
            # 8 of the next 20 fail slowly: a third failed, a third slow (the 95th percentile), the mean still fast.
            for n in range(2):
                process(ctx, "slow_failing", jobs(ctx, 4, f"live-bad{n}"))
            process(ctx, "ok", jobs(ctx, 12, "live-ok2"))
            wanted = ("WorkerHighErrorRate", "WorkerSlowJobs")
            _wait(lambda: _settled([_state(prom.url, n) for n in wanted]), LIVE_FIRE_S, deadline)
            run["fired"] = {n: _state(prom.url, n) for n in wanted}
            process(ctx, "ok", jobs(ctx, 200, "live-recovered"))
            _wait(lambda: not any(_state(prom.url, n) for n in wanted), LIVE_RESOLVE_S, deadline)
            run["still"] = {n: s for n in wanted if (s := _state(prom.url, n))}
    except PrometheusMissing as exc:
        raise CheckFailed("Prometheus", "не встановлено", str(exc)) from None
    except (PrometheusUnavailable, PrometheusFailed) as exc:
        raise CheckFailed("Prometheus для перевірки", "не відповів", f"{exc} Спробуйте ще раз; якщо повториться — "
                          "повідомте викладача.") from None
    return run


def _state(base: str, name: str) -> str | None:
    states = [a["state"] for a in alerts(name, base=base)]
    return "firing" if "firing" in states else "pending" if states else None


def _settled(states: list[str | None]) -> bool:
    """Every alert fires, or some fire and the others are not even pending: with the same data and the same `for`,
    those will not fire later (a rule on the mean, say), so waiting longer only costs the check's time."""
    return all(s == "firing" for s in states) or ("firing" in states and "pending" not in states)


def _wait(condition, timeout: float, deadline: float | None = None) -> bool:
    deadline = min(time.monotonic() + timeout, deadline or math.inf)
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return bool(condition())


def live_fires(name: str):
    def check(ctx: Context) -> None:
        state = live(ctx)["fired"].get(name)
        expect(state == "firing", f"{name} спрацьовує (firing), коли CRM відповідає 500 повільно",
               state or "не спрацював")

    return check


def check_live_resolves(ctx: Context) -> None:
    run = live(ctx)
    expect(any(s == "firing" for s in run["fired"].values()), "спершу алерт спрацював", "жоден не спрацював")
    expect(not run["still"], "після 200 успішних швидких завдань алерти згасають", json.dumps(run["still"]))


USES = {"metrics": ("metrics_app",), "worker": ("process_jobs", "metrics_app"), "rules": ("alert_rules",),
        "live": ("alert_rules", "process_jobs", "metrics_app")}

EXERCISE = Exercise(
    id="ex11",
    title="Моніторинг: метрики воркера і правила алертів",
    services=SERVICES,
    teardown=teardown,
    checks=[
        Check("ex11.metrics", 2, "metrics_app exposes worker_jobs_total (counter), worker_job_duration_seconds "
              "(histogram) and worker_queue_depth (gauge)",
              "Counter('worker_jobs_total', ..., ['outcome'], registry=REGISTRY), Histogram('worker_job_duration_seconds', "
              "..., registry=REGISTRY), Gauge('worker_queue_depth', ..., registry=REGISTRY).",
              check_metrics_declared, USES["metrics"]),
        Check("ex11.sends_jobs", 1, "process_jobs POSTs each job to the CRM as JSON, in order",
              "Для кожного завдання: requests.post(target_url, json=job, timeout=2).",
              check_sends_jobs, USES["worker"]),
        Check("ex11.counts", 2, "worker_jobs_total{outcome} counts ok (2xx) and failed (other status, no connection) jobs",
              "Успіх — лише 2xx; інший статус або виняток requests — 'failed'. JOBS.labels(outcome=...).inc() і "
              "поверніть {'ok': ..., 'failed': ...}.",
              check_counts_outcomes, USES["worker"]),
        Check("ex11.duration", 1, "worker_job_duration_seconds observes each job's time, a failed job's too",
              "Заміряйте time.perf_counter() до й після запиту і JOB_SECONDS.observe(секунди) — і для невдалих теж "
              "(або with JOB_SECONDS.time():).",
              check_times_jobs, USES["worker"]),
        Check("ex11.queue_depth", 2, "worker_queue_depth shows the jobs still waiting while the worker runs, 0 after",
              "На початку QUEUE_DEPTH.set(len(jobs)), після кожного завдання QUEUE_DEPTH.dec() (або set(залишок)).",
              check_queue_depth, USES["worker"]),
        Check("ex11.rules_valid", 1, "alert_rules() is a rule file promtool accepts, with the three alerts",
              "YAML: groups → name, rules → alert, expr, for, labels, annotations. Перевірте: check_rules(alert_rules()).",
              check_rules_valid, USES["rules"]),
        Check("ex11.rule_error_rate", 1, "WorkerHighErrorRate: failed share over 30 s > 0.2 for 5 s, severity critical",
              "sum(rate(worker_jobs_total{outcome=\"failed\"}[30s])) / sum(rate(worker_jobs_total[30s])) > 0.2, "
              "for: 5s, labels: {severity: critical}.",
              unit_check("WorkerHighErrorRate"), USES["rules"]),
        Check("ex11.rule_latency", 1, "WorkerSlowJobs: 95th percentile over 30 s > 0.5 s for 5 s, severity warning",
              "histogram_quantile(0.95, sum by (le) (rate(worker_job_duration_seconds_bucket[30s]))) > 0.5 — перцентиль, "
              "не середнє; for: 5s, severity: warning.",
              unit_check("WorkerSlowJobs"), USES["rules"]),
        Check("ex11.rule_backlog", 1, "WorkerBacklog: worker_queue_depth > 10 for 5 s, severity warning",
              "worker_queue_depth > 10, for: 5s, labels: {severity: warning}.",
              unit_check("WorkerBacklog"), USES["rules"]),
        Check("ex11.live_error_rate", 1, "in a real Prometheus, WorkerHighErrorRate fires when the CRM fails",
              "Правило має спрацювати на справжніх метриках воркера: перевірте назви метрик і мітку outcome.",
              live_fires("WorkerHighErrorRate"), USES["live"]),
        Check("ex11.live_latency", 1, "in a real Prometheus, WorkerSlowJobs fires when the CRM is slow",
              "Правило має спрацювати на справжній гістограмі воркера (worker_job_duration_seconds_bucket).",
              live_fires("WorkerSlowJobs"), USES["live"]),
        Check("ex11.live_resolves", 1, "the alerts resolve once the CRM is healthy and fast again",
              "Алерт має згаснути, коли більшість завдань за 30 с успішні й швидкі: рахуйте частку через rate(...[30s]), "
              "а не загальні лічильники.",
              check_live_resolves, USES["live"]),
    ],
)
