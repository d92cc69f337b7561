"""Delivery benchmark: N alerts through the outbox to a webhook receiver on loopback.

A producer thread stores alerts (each routed to one webhook integration, as the detection
runner does) as fast as it can while one outbox worker ticks continuously. The receiver notes
when each alert arrives. Printed: alerts/s end to end, and the p50/p99 delay from an alert's
creation to its receipt. `DELIVERY_ALERTS` sets N (default 10,000).

    .venv/bin/python -m benchmarks.bench_delivery [--alerts N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, alert_id_for, dedup_key
from mantissa_log.domain.integrations.writes import INTEGRATION_WRITE_ADAPTER
from mantissa_log.services.container import build_services
from mantissa_log.services.identity import Principal
from mantissa_log.state.repositories.alerts import Firing

T = "2026-11-27T10:00:00Z"


class Receiver:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.requests = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                alert_id = json.loads(body)["alert_id"]
                with lock:
                    outer.requests += 1
                    outer.arrived.setdefault(alert_id, time.perf_counter())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


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


def run(count: int) -> dict[str, float]:
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp:
        config = Settings(home=Path(tmp), environment="bench", allow_private_targets=True)
        services = build_services(config)
        services.users.create_user("bench")
        services.integrations.create(
            Principal("bench"),
            INTEGRATION_WRITE_ADAPTER.validate_python(
                {
                    "integration_id": "hook",
                    "integration_type": "webhook",
                    "config": {
                        "url": f"http://127.0.0.1:{receiver.port}/in",
                        "headers": {"Authorization": "Bearer ${SECRET}"},
                    },
                    "secret": "bench_token_0123456789",
                }
            ),
        )
        created: dict[str, float] = {}
        done = threading.Event()

        def produce() -> None:
            for i in range(count):
                alert = make_alert(i)
                created[alert.alert_id] = time.perf_counter()
                stored, _ = services.infra.repos.alerts.record_firing(Firing(alert, 0), int(time.time()))
                services.infra.router.route(stored)
            done.set()

        start = time.perf_counter()
        producer = threading.Thread(target=produce)
        producer.start()
        while not (done.is_set() and len(receiver.arrived) >= count):
            report = services.infra.outbox.tick(limit=200)
            if report.sent == 0 and report.retried == 0:
                time.sleep(0.01)
        elapsed = time.perf_counter() - start
        producer.join()
        produced_in = max(created.values()) - start
        services.close()
    delays = [(receiver.arrived[a] - created[a]) * 1000 for a in created]
    return {
        "alerts": count,
        "seconds": elapsed,
        "alerts_per_s": count / elapsed,
        "produce_seconds": produced_in,
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "max_ms": max(delays),
        "requests": receiver.requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=int(os.environ.get("DELIVERY_ALERTS", "10000")))
    args = parser.parse_args()
    r = run(args.alerts)
    print(f"alerts: {r['alerts']} delivered in {r['seconds']:.1f} s (stored in {r['produce_seconds']:.1f} s)")
    print(f"receiver requests: {r['requests']} (duplicates: {r['requests'] - r['alerts']})")
    print(f"delay creation->receipt: p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms, max {r['max_ms']:.0f} ms")
    print(f"alerts/s: {r['alerts_per_s']:.0f}")


if __name__ == "__main__":
    main()
