"""API benchmark: a real server (`mantissa-log serve`, uvicorn, SQLite state) on loopback as its
own process, under mixed load for a fixed time:

- `--readers` clients (default 10) each loop on `GET /api/v1/alerts` (an analyst's token, 200
  stored alerts, pages of 50);
- `--writers` clients (default 10) each loop posting 50 CloudTrail events to
  `POST /api/v1/ingest/cloudtrail` (an ingest-role token).

Each client keeps one connection open. Printed: requests/s in all, GETs/s with their p50/p99
latency, ingests/s with theirs, any answer that was not 200 (there should be none), and the
server's CPU time over the run (cores used, GETs per CPU-second): on a shared machine the rates
say what the server was given, the CPU figures what it did with it.
`BENCH_API_SECONDS` sets the duration (default 20). `--ingest-rate R` (`BENCH_API_INGEST_RATE`)
paces the writers to R ingests a second in all: the same ingest work whatever the server, so two
servers' GET figures compare (back to back, a server that ingests faster also ingests more).

    .venv/bin/python -m benchmarks.bench_api [--seconds S] [--readers N] [--writers N] [--ingest-rate R]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mantissa_log.config import Settings
from mantissa_log.domain.alerts import Alert, alert_id_for, dedup_key
from mantissa_log.services.container import build_services
from mantissa_log.state.repositories.alerts import Firing

EXE = str(Path(sys.executable).parent / "mantissa-log")
T = "2026-11-27T10:00:00Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(home: Path) -> tuple[str, str]:
    """An analyst with 200 alerts and an ingest user; their tokens."""
    services = build_services(Settings(home=home, environment="bench"))
    try:
        _, analyst = services.users.create_user("analyst")
        _, shipper = services.users.create_user("shipper", role="ingest")
        for i in range(200):
            alert = Alert(
                user_id="analyst",
                alert_id=alert_id_for("analyst", "bench-rule", T, f"2026-11-27T10:00:00.{i:06d}Z", None),
                rule_name="bench-rule",
                rule_title="Benchmark rule",
                severity="high",
                source="cloudtrail",
                window_start=T,
                window_end=T,
                match_count=1,
                samples=[{"eventName": "StopLogging", "n": i}],
                dedup_key=dedup_key("analyst", "bench-rule", {"i": str(i)}),
                created_at=T,
                last_seen=T,
                delivery_status="none",
            )
            services.infra.repos.alerts.record_firing(Firing(alert, 0), int(time.time()))
    finally:
        services.close()
    return analyst, shipper


def events_body(batch: int) -> bytes:
    lines = []
    for i in range(50):
        lines.append(
            json.dumps(
                {
                    "eventVersion": "1.08",
                    "eventTime": f"2026-11-27T10:{batch % 60:02d}:{i % 60:02d}Z",
                    "eventSource": "cloudtrail.amazonaws.com",
                    "eventName": "DescribeTrails" if i % 10 else "StopLogging",
                    "awsRegion": "us-east-1",
                    "sourceIPAddress": f"203.0.113.{i}",
                    "userIdentity": {"type": "IAMUser", "userName": f"user{i % 7}", "accountId": "123456789012"},
                    "eventID": f"{batch:08d}-{i:04d}",
                    "recipientAccountId": "123456789012",
                }
            )
        )
    return "\n".join(lines).encode()


class Client(threading.Thread):
    def __init__(
        self,
        port: int,
        request: Callable[[http.client.HTTPConnection, int], int],
        stop: float,
        every: float = 0.0,
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.request, self.stop_at = port, request, stop
        self.every = every  # seconds between the starts of two requests (0: back to back)
        self.latencies: list[float] = []
        self.failures: dict[int, int] = {}

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        n = 0
        due = time.perf_counter()
        while time.perf_counter() < self.stop_at:
            if self.every:
                time.sleep(max(0.0, due - time.perf_counter()))
                due += self.every
            start = time.perf_counter()
            try:
                status = self.request(conn, n)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                status = -1
            self.latencies.append((time.perf_counter() - start) * 1000)
            if status != 200:
                self.failures[status] = self.failures.get(status, 0) + 1
            n += 1
        conn.close()


def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux `/proc`; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(port: int, token: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer within 60 s")


def run(seconds: float, readers: int, writers: int, ingest_rate: float = 0.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        analyst, shipper = seed(home)
        port = free_port()
        env = os.environ | {"MANTISSA_HOME": str(home), "MANTISSA_ENVIRONMENT": "bench"}
        proc = subprocess.Popen(
            [EXE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_ready(port, analyst, proc)
            read_headers = {"Authorization": f"Bearer {analyst}"}
            ingest_headers = {"Authorization": f"Bearer {shipper}", "Content-Type": "application/x-ndjson"}

            def get(conn: http.client.HTTPConnection, _: int) -> int:
                conn.request("GET", "/api/v1/alerts?limit=50", headers=read_headers)
                response = conn.getresponse()
                response.read()
                return response.status

            def ingest(conn: http.client.HTTPConnection, n: int) -> int:
                conn.request("POST", "/api/v1/ingest/cloudtrail", body=events_body(n), headers=ingest_headers)
                response = conn.getresponse()
                response.read()
                return response.status

            start = time.perf_counter()
            cpu_start = cpu_seconds(proc.pid)
            stop = start + seconds
            getters = [Client(port, get, stop) for _ in range(readers)]
            # With --ingest-rate the writers together start that many ingests a second (the same
            # ingest work for any server), else each posts back to back.
            every = writers / ingest_rate if ingest_rate > 0 else 0.0
            posters = [Client(port, ingest, stop, every) for _ in range(writers)]
            for c in getters + posters:
                c.start()
            for c in getters + posters:
                c.join()
            elapsed = time.perf_counter() - start
            cpu_end = cpu_seconds(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    gets = [x for c in getters for x in c.latencies]
    posts = [x for c in posters for x in c.latencies]
    failures: dict[int, int] = {}
    for c in getters + posters:
        for status, n in c.failures.items():
            failures[status] = failures.get(status, 0) + n
    paced = f" (at most {ingest_rate:g}/s in all)" if ingest_rate > 0 else ""
    print(f"{readers} clients on GET /api/v1/alerts + {writers} posting 50-event ingests{paced}, {elapsed:.1f} s")
    print(f"requests/s in all: {(len(gets) + len(posts)) / elapsed:,.0f}")
    print(
        f"ingest: {len(posts) / elapsed:,.1f}/s ({len(posts) * 50 / elapsed:,.0f} events/s), "
        f"p50 {pct(posts, 50):.0f} ms, p99 {pct(posts, 99):.0f} ms"
    )
    print(f"non-200 answers: {failures or 'none'}")
    print(f"GET: {len(gets) / elapsed:,.0f}/s, p50 {pct(gets, 50):.0f} ms, p99 {pct(gets, 99):.0f} ms")
    if cpu_start is not None and cpu_end is not None and cpu_end > cpu_start:
        # On a shared machine the rates say what the server got; this says what it did with it.
        used = cpu_end - cpu_start
        print(f"server CPU: {used / elapsed:.2f} cores; GET per server CPU-second: {len(gets) / used:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_API_SECONDS", "20")))
    parser.add_argument("--readers", type=int, default=10)
    parser.add_argument("--writers", type=int, default=10)
    parser.add_argument(
        "--ingest-rate",
        type=float,
        default=float(os.environ.get("BENCH_API_INGEST_RATE", "0")),
        help="ingests per second in all (default 0: every writer posts back to back)",
    )
    args = parser.parse_args()
    run(args.seconds, args.readers, args.writers, args.ingest_rate)


if __name__ == "__main__":
    main()
