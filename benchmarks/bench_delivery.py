"""Delivery benchmark: N alerts through the outbox to a webhook receiver on loopback (SQLite state).

The receiver is its own process (`benchmarks.webhook_receiver`), as a real one is. Two phases:

1. **drain**: N alerts are stored and routed first; then one worker ticks until every delivery
   is recorded. Printed: alerts/s of the outbox alone, and the state-store operations it made
   per delivery (backend calls, and write transactions among them).
   **worker loop**: the same, drained by the worker's own delivery loop (`Worker.run`: `pump`
   hands due deliveries to a standing pool, outcomes written by group commit), with one process
   and then with `--processes` (`DELIVERY_PROCESSES`, default 2: `delivery_processes`, helper
   processes sharing the store). Besides the wall time from the loop's start (which includes
   starting the helpers), the rate from the moment every process was up to the last receipt.
2. **end to end** (`--no-end-to-end` skips it): a producer thread stores alerts as fast as it can
   (as the detection runner does, one alert at a time) while the worker ticks; printed: alerts/s
   from the first store to the last receipt, and the p50/p99 delay from creation to receipt.

`DELIVERY_ALERTS` sets N (default 10,000).

    .venv/bin/python -m benchmarks.bench_delivery [--alerts N]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, alert_id_for, dedup_key
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.services.container import Services, build_services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing

T = "2026-11-27T10:00:00Z"
STORE_CALLS = ("get", "put", "update", "update_many", "delete", "query", "batch_get", "batch_put", "batch_delete")
WRITE_CALLS = ("put", "update", "update_many", "delete", "batch_put", "batch_delete")


@contextmanager
def receiver() -> Iterator[tuple[int, Callable[[], dict[str, Any]]]]:
    """The receiver process: its port, and a function reading its report."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.webhook_receiver"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        def report() -> dict[str, Any]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/report", timeout=30) as answer:
                return dict(json.loads(answer.read()))

        yield port, report
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class StoreCounter:
    """Counts the state-store calls made by threads other than the producer."""

    def __init__(self, services: Services) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.producer: threading.Thread | None = None
        backend = services.infra.backend
        lock = threading.Lock()
        for name in STORE_CALLS:
            original = getattr(backend, name)

            def counted(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                if threading.current_thread() is not self.producer:
                    with lock:
                        self.calls[_name] += 1
                return _original(*args, **kwargs)

            setattr(backend, name, counted)

    def reset(self) -> None:
        self.calls.clear()

    def totals(self) -> tuple[int, int]:
        return sum(self.calls.values()), sum(self.calls[n] for n in WRITE_CALLS)


def make_alert(i: int) -> Alert:
    return Alert(
        user_id="bench",
        alert_id=alert_id_for("bench", "bench-rule", "2026-11-27T10:00:00Z", f"2026-11-27T10:00:00.{i:06d}Z", None),
        rule_name="bench-rule",
        rule_title="Benchmark rule",
        severity="high",
        source="cloudtrail",
        window_start=T,
        window_end=T,
        match_count=1,
        samples=[{"eventName": "StopLogging", "n": i}],
        dedup_key=dedup_key("bench", "bench-rule", {"i": str(i)}),
        created_at=T,
        last_seen=T,
        alert_destinations=["webhook"],
    )


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def new_services(tmp: str, port: int, processes: int = 1) -> Services:
    config = Settings(home=Path(tmp), environment="bench", allow_private_targets=True, delivery_processes=processes)
    services = build_services(config)
    services.users.create_user("bench")
    services.integrations.create(
        Principal("bench"),
        INTEGRATION_WRITE_ADAPTER.validate_python(
            {
                "integration_id": "hook",
                "integration_type": "webhook",
                "config": {
                    "url": f"http://127.0.0.1:{port}/in",
                    "headers": {"Authorization": "Bearer ${SECRET}"},
                },
                "secret": "bench_token_0123456789",
            }
        ),
    )
    return services


def store(services: Services, first: int, count: int, created: dict[str, float] | None = None) -> None:
    for i in range(first, first + count):
        alert = make_alert(i)
        if created is not None:
            created[alert.alert_id] = time.time()
        stored, _ = services.infra.repos.alerts.record_firing(Firing(alert, 0), int(time.time()))
        services.infra.router.route(stored)


def drain(services: Services, count: int, *, until: Callable[[], bool] = lambda: True) -> int:
    """Tick until `count` deliveries are recorded (and `until()` holds); returns how many ticks."""
    sent = ticks = 0
    while sent < count or not until():
        report = services.infra.outbox.tick(limit=500)
        sent += report.sent
        ticks += 1
        if report.errors or report.dead or report.retried:
            raise SystemExit(f"deliveries failed: {report}")
        if report.sent == 0:
            time.sleep(0.005)
    return ticks


def run_drain(count: int) -> dict[str, float]:
    with receiver() as (port, report), tempfile.TemporaryDirectory() as tmp:
        services = new_services(tmp, port)
        start = time.perf_counter()
        store(services, 0, count)
        stored_in = time.perf_counter() - start
        counter = StoreCounter(services)
        start = time.perf_counter()
        drain(services, count)
        elapsed = time.perf_counter() - start
        calls, writes = counter.totals()
        services.close()
        received = report()
    return {
        "stored_s": stored_in,
        "seconds": elapsed,
        "per_s": count / elapsed,
        "calls": calls / count,
        "writes": writes / count,
        "requests": received["requests"],
        "arrived": len(received["arrived"]),
    }


def run_worker_loop(count: int, processes: int = 1) -> dict[str, float]:
    """The worker's own delivery loop (`Worker.run`, pumping the standing pool) over `count` stored
    alerts, with `processes` processes running it (`delivery_processes`)."""
    with receiver() as (port, report), tempfile.TemporaryDirectory() as tmp:
        services = new_services(tmp, port, processes)
        store(services, 0, count)
        counter = StoreCounter(services)
        stop = threading.Event()
        loop = threading.Thread(target=services.worker.run, args=(stop,), kwargs={"only": ("delivery",)})
        start = time.perf_counter()
        loop.start()
        helpers = services.worker.delivery_helpers
        all_up: float | None = None if helpers is not None else time.time()
        while services.infra.repos.deliveries.due("9" * 15, limit=1).items:
            if all_up is None and helpers is not None and helpers.ready() == helpers.count:
                all_up = time.time()
            time.sleep(0.01)
        stop.set()
        loop.join()  # in-flight sends finish and are recorded before it returns (helpers' too)
        elapsed = time.perf_counter() - start
        calls, writes = counter.totals()
        services.close()
        received = report()
    # The rate once every process is up (helpers take seconds to start): receipts after that moment.
    times = sorted(received["arrived"].values())
    since = max(all_up or times[0], times[0])
    after = [t for t in times if t >= since]
    span = after[-1] - since if len(after) > 1 else 0.0
    return {
        "seconds": elapsed,
        "per_s": count / elapsed,
        "steady_per_s": len(after) / span if span > 0 else 0.0,
        "steady_count": len(after),
        "calls": calls / count,
        "writes": writes / count,
        "arrived": len(received["arrived"]),
        "requests": received["requests"],
    }


def run_end_to_end(count: int) -> dict[str, float]:
    with receiver() as (port, report), tempfile.TemporaryDirectory() as tmp:
        services = new_services(tmp, port)
        created: dict[str, float] = {}
        done = threading.Event()

        def produce() -> None:
            store(services, 0, count, created)
            done.set()

        start = time.time()
        producer = threading.Thread(target=produce)
        producer.start()
        drain(services, count, until=done.is_set)
        elapsed = time.time() - start
        producer.join()
        services.close()
        received = report()
    arrived = received["arrived"]
    delays = [(arrived[a] - created[a]) * 1000 for a in created]
    return {
        "seconds": elapsed,
        "per_s": count / elapsed,
        "produce_s": max(created.values()) - start,
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "requests": received["requests"],
        "arrived": len(arrived),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=int(os.environ.get("DELIVERY_ALERTS", "10000")))
    parser.add_argument("--no-end-to-end", action="store_true", help="skip the end-to-end phase")
    parser.add_argument("--no-worker-loop", action="store_true", help="skip the worker-loop phases")
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("DELIVERY_PROCESSES", "2")),
        help="delivery_processes for the second worker-loop phase (1 skips it)",
    )
    args = parser.parse_args()
    n = args.alerts
    d = run_drain(n)
    print(f"alerts: {n:,} stored and routed in {d['stored_s']:.1f} s ({n / d['stored_s']:,.0f}/s), then drained")
    print(f"drain: {d['arrived']:,} received in {d['seconds']:.2f} s; receiver requests {d['requests']:,}")
    print(f"store operations per delivery: {d['calls']:.2f} calls, {d['writes']:.2f} write transactions")
    if not args.no_worker_loop:
        for processes in dict.fromkeys((1, args.processes)):
            w = run_worker_loop(n, processes)
            print(
                f"worker loop (the worker's delivery loop, pumping), {processes} process(es): {w['arrived']:,} received"
                f" in {w['seconds']:.2f} s = {w['per_s']:,.0f} alerts/s ({w['steady_per_s']:,.0f}/s once every process"
                f" was up, over {w['steady_count']:,.0f} receipts; receiver requests {w['requests']:,}); store"
                " operations per delivery in the worker's"
                f" process: {w['calls']:.2f} calls, {w['writes']:.2f} write transactions"
            )
    if not args.no_end_to_end:
        e = run_end_to_end(n)
        print(
            f"end to end (producer storing one alert at a time alongside): {e['arrived']:,} received in "
            f"{e['seconds']:.1f} s = {e['per_s']:,.0f} alerts/s (stored in {e['produce_s']:.1f} s); "
            f"delay creation->receipt p50 {e['p50_ms']:.0f} ms, p99 {e['p99_ms']:.0f} ms; "
            f"receiver requests {e['requests']:,}"
        )
    print(f"outbox alerts/s: {d['per_s']:,.0f}")


if __name__ == "__main__":
    main()
