"""Webhook templates render in worker processes with hard limits; the server only waits, up to a deadline.

A template is code its user wrote. Jinja2's sandbox stops it from reaching anything it should
not, but not from looping for an hour or building gigabytes, and in-process nothing can stop a
C-level loop. So every template is parsed, compiled and rendered in a `template_worker` process:

- the worker caps its own address space (RLIMIT_AS), CPU (a per-request timer plus RLIMIT_CPU),
  files, descriptors and forks, and runs with an empty environment;
- the caller waits at most `wall_seconds`; past that the worker is killed (SIGKILL) and the
  render fails as over its limits, so a delivery thread is never held longer than that;
- a template that hit a limit is remembered (by its hash, for `QUARANTINE_SECONDS`) and fails
  at once the next times, so one user's bad template costs one deadline, not one per alert;
- at most `max_workers` workers exist; they are started on demand, reused while healthy and
  replaced after any breach. Idle workers are cheap (~20 MB each, mostly shared pages).

The outbox sends from a thread pool and the scheduler runs on its own thread, so a render never
delays detection and delays other deliveries by at most one deadline while all workers are busy.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mantissa_log.outputs.template_worker import HEADER

STARTUP_SECONDS = 10.0
QUARANTINE_SECONDS = 600.0
QUARANTINE_ENTRIES = 1024
MAX_ANSWER_BYTES = 16 << 20
log = logging.getLogger("mantissa_log.templates")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding `mantissa_log`
_BOOT = "import sys; sys.path.insert(0, {root!r}); from mantissa_log.outputs.template_worker import main; main()"


class TemplateError(Exception):
    """The template cannot produce a body: `kind` is syntax, render or limit; `line` for syntax errors."""

    def __init__(self, message: str, *, kind: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.line = line


@dataclass(frozen=True)
class TemplateLimits:
    cpu_seconds: float = 1.0
    wall_seconds: float = 2.0
    memory_bytes: int = 96 << 20
    max_output_bytes: int = 1 << 20
    max_workers: int = 4


class _Died(Exception):
    pass


class _Worker:
    def __init__(self, limits: TemplateLimits) -> None:
        code = _BOOT.format(root=_PACKAGE_ROOT)
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", code, str(limits.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            close_fds=True,
            start_new_session=True,  # a Ctrl-C on the terminal is the server's to handle, not the worker's
        )
        self.renders = 0
        try:
            ready = self._read_frame(time.monotonic() + STARTUP_SECONDS)
        except (TimeoutError, _Died, ValueError):
            ready = {}
        if ready.get("ready") is not True:
            self.kill()
            log.error("a template worker did not start (python %s)", sys.executable)
            raise TemplateError("template rendering is unavailable: its worker process did not start", kind="render")

    def _read_frame(self, deadline: float) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._read(HEADER.size, deadline))
        if size > MAX_ANSWER_BYTES:
            raise _Died
        return dict(json.loads(self._read(size, deadline).decode("utf-8", "surrogateescape")))

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        data = json.dumps(request, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None
        assert stdout is not None
        try:
            stdin.write(HEADER.pack(len(data)) + data)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _Died from exc
        answer = self._read_frame(deadline)
        self.renders += 1
        return answer

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        buffer = bytearray()
        while len(buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, size - len(buffer))
            if not chunk:
                raise _Died
            buffer += chunk
        return bytes(buffer)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class TemplateRenderer:
    """Renders templates in isolated worker processes; thread-safe."""

    def __init__(self, limits: TemplateLimits | None = None) -> None:
        self.limits = limits or TemplateLimits()
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._count = 0
        self._closed = False
        self._quarantine: OrderedDict[str, tuple[float, str]] = OrderedDict()
        atexit.register(self.close)

    def render(self, template: str, data: dict[str, Any]) -> bytes:
        """The rendered body; raises TemplateError (syntax, render or limit)."""
        key = hashlib.sha256(template.encode("utf-8", "surrogateescape")).hexdigest()
        known = self._quarantined(key)
        if known is not None:
            raise TemplateError(f"{known} (this template exceeded its limits recently)", kind="limit")
        request = {
            "template": template,
            "data": data,
            "cpu": self.limits.cpu_seconds,
            "max_bytes": self.limits.max_output_bytes,
        }
        try:
            answer = self._ask(request)
        except TemplateError as exc:
            if exc.kind == "limit":
                self._quarantine_put(key, exc.message)
            raise
        if answer.get("ok"):
            return str(answer.get("body", "")).encode("utf-8", "surrogateescape")
        kind = str(answer.get("kind") or "render")
        message = str(answer.get("error") or "the template failed")
        if kind == "limit":
            self._quarantine_put(key, message)
        line = answer.get("line")
        raise TemplateError(message, kind=kind, line=line if isinstance(line, int) else None)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(2):  # a worker that died while idle is replaced once
            worker = self._acquire()
            deadline = time.monotonic() + self.limits.wall_seconds
            try:
                answer = worker.ask(request, deadline)
            except TimeoutError:
                self._discard(worker)
                raise TemplateError(
                    f"the template did not finish within {self.limits.wall_seconds:g} s", kind="limit"
                ) from None
            except _Died:
                self._discard(worker)
                if attempt == 0 and worker.renders == 0 and time.monotonic() < deadline - 0.5:
                    continue  # it may have died idle (killed from outside): one fresh worker
                raise TemplateError("the template exceeded its resource limits", kind="limit") from None
            if answer.get("kind") == "limit":
                self._discard(worker)  # the worker ends itself after a breach
            else:
                self._release(worker)
            return answer
        raise TemplateError("the template exceeded its resource limits", kind="limit")  # pragma: no cover

    # -- the pool ------------------------------------------------------------------------------
    def _acquire(self) -> _Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise TemplateError("template rendering is shut down", kind="render")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._count -= 1
                    worker.kill()
                if self._count < self.limits.max_workers:
                    self._count += 1
                    break
                self._lock.wait(timeout=self.limits.wall_seconds)
        try:
            return _Worker(self.limits)
        except BaseException:
            with self._lock:
                self._count -= 1
                self._lock.notify()
            raise

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            if self._closed:
                worker.kill()
                self._count -= 1
            else:
                self._idle.append(worker)
            self._lock.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._count -= 1
            self._lock.notify()

    def _quarantined(self, key: str) -> str | None:
        with self._lock:
            found = self._quarantine.get(key)
            if found is None:
                return None
            until, message = found
            if time.monotonic() > until:
                del self._quarantine[key]
                return None
            return message

    def _quarantine_put(self, key: str, message: str) -> None:
        with self._lock:
            self._quarantine[key] = (time.monotonic() + QUARANTINE_SECONDS, message)
            self._quarantine.move_to_end(key)
            while len(self._quarantine) > QUARANTINE_ENTRIES:
                self._quarantine.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._lock.notify_all()
        for worker in idle:
            worker.kill()


_shared_lock = threading.Lock()
_shared: TemplateRenderer | None = None


def shared_renderer() -> TemplateRenderer:
    """One renderer per process with the default limits, for callers given none."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TemplateRenderer()
        return _shared
