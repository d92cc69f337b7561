"""One real server (`mantissa-log serve --demo` as a subprocess on a free loopback port, stopped by
PID) and one headless Chromium (Debian's, at /usr/bin/chromium) for the whole browser suite."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_SECONDS = 180  # the demo load: starter rules, a day of events, one run of every rule
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@dataclass
class Server:
    url: str
    admin_token: str
    home: Path
    output: list[str] = field(default_factory=list)
    ingest_token: str = ""  # a log shipper's: the only kind of token that may send events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_lines(stream: object, lines: queue.Queue[str | None], log: list[str]) -> None:
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        log.append(line)
        lines.put(line)
    lines.put(None)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("browser-home")
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mantissa-log"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--demo",
    ]
    env = os.environ | {"MANTISSA_HOME": str(home), "MANTISSA_ALLOW_PRIVATE_TARGETS": "true", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []
    threading.Thread(target=_read_lines, args=(process.stdout, lines, output), daemon=True).start()
    token = None
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if line is None:
                raise RuntimeError("the server exited:\n" + "".join(output))
            if line.strip().startswith("mlt_") and token is None:
                token = line.strip()
            if "Application startup complete" in line:
                break
        assert token, "the first run printed no admin token:\n" + "".join(output)
        shipper = subprocess.run(
            [command[0], "users", "create", "shipper", "--role", "ingest"], env=env, capture_output=True, text=True
        )
        ingest_token = next(w for w in shipper.stdout.split() if w.startswith("mlt_"))
        yield Server(f"http://127.0.0.1:{port}", token, home, output=output, ingest_token=ingest_token)
    finally:
        process.terminate()  # by PID: this server only
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(20_000)
    # Assertions wait as long as actions do: a loaded 2-core machine renders a page in seconds.
    expect.set_options(timeout=20_000)
    yield ctx
    ctx.close()


def arrived(page: Page, url: str) -> None:
    """On `url`, with its deferred script run: keys pressed before that would reach no handler
    (the URL changes when the new document commits, before its scripts have run)."""
    expect(page).to_have_url(url)
    page.wait_for_load_state("domcontentloaded")


def sign_in(page: Page, server: Server, token: str | None = None) -> None:
    page.goto(f"{server.url}/login")
    page.fill("#token", token or server.admin_token)
    page.press("#token", "Enter")
    page.wait_for_url(f"{server.url}/")
    page.wait_for_load_state("domcontentloaded")


@pytest.fixture
def admin_page(context: BrowserContext, server: Server) -> Page:
    page = context.new_page()
    sign_in(page, server)
    return page
