"""The template worker: a child process that renders webhook templates under hard resource limits.

Started by `template_pool` as `python -I -c ...` with an empty environment (no credentials to
find) and pipes for stdin/stdout. Before reading any request it limits itself:

- RLIMIT_AS: the whole address space (the memory a template can make it use), `--memory` bytes;
- RLIMIT_CPU: a lifetime ceiling, and per request a soft limit just above the request's budget
  (the kernel stops the process with SIGXCPU if the Python-level timer below cannot fire, e.g.
  inside one long C call);
- RLIMIT_FSIZE 0 (no file writes), RLIMIT_NOFILE 16, RLIMIT_NPROC 0 (no fork), RLIMIT_CORE 0.

Each request gets an ITIMER_PROF timer of its CPU budget: when it fires, the render stops with a
clear "used more than N s of CPU" answer. Any breach of a limit ends the worker after answering
(a MemoryError may leave the interpreter in a poor state); the pool starts a fresh one.

Frames on both pipes: 4-byte big-endian length, then UTF-8 JSON. The first frame the worker
writes is `{"ready": true}`, once its limits are in place.
Request `{"template": str, "data": {...}, "cpu": seconds, "max_bytes": int}`;
answer `{"ok": true, "body": str}` or `{"ok": false, "kind": "syntax"|"render"|"limit", "error": str,
"line": int|null}`.
"""

from __future__ import annotations

import json
import math
import resource
import signal
import struct
import sys
from typing import Any, BinaryIO

from mantissa_log.outputs.template_sandbox import SandboxEnvironment, TemplateLimit, render_limited

HEADER = struct.Struct(">I")
LIFETIME_CPU_SECONDS = 600


class CpuBudgetExceeded(Exception):
    pass


def _on_cpu_timer(_signum: int, _frame: Any) -> None:
    raise CpuBudgetExceeded


def limit_self(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (LIFETIME_CPU_SECONDS, LIFETIME_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def write_frame(stream: BinaryIO, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogateescape")
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def _one_line(text: str) -> str:
    return " ".join(text.splitlines()).strip()[:500]


def render_request(environment: SandboxEnvironment, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one request; `kind` "limit" means the worker must not be reused."""
    budget = float(request["cpu"])
    # The kernel's ceiling a little above the Python timer, in whole seconds.
    soft = min(LIFETIME_CPU_SECONDS, math.ceil(cpu_used() + budget) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, LIFETIME_CPU_SECONDS))
    signal.setitimer(signal.ITIMER_PROF, budget)
    try:
        body = render_limited(environment, str(request["template"]), request["data"], int(request["max_bytes"]))
        return {"ok": True, "body": body.decode("utf-8", "surrogateescape")}
    except CpuBudgetExceeded:
        return {"ok": False, "kind": "limit", "error": f"the template used more than {budget:g} s of CPU"}
    except MemoryError:
        return {"ok": False, "kind": "limit", "error": "the template used more memory than allowed"}
    except TemplateLimit as exc:
        return {"ok": False, "kind": "limit", "error": _one_line(str(exc))}
    except RecursionError:
        return {"ok": False, "kind": "render", "error": "RecursionError: the template recursed too deeply"}
    except Exception as exc:  # anything the user's template raises is the template's fault
        return _failure(exc)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _failure(exc: Exception) -> dict[str, Any]:
    import jinja2

    if isinstance(exc, jinja2.TemplateSyntaxError):
        return {"ok": False, "kind": "syntax", "error": _one_line(exc.message or "syntax error"), "line": exc.lineno}
    return {"ok": False, "kind": "render", "error": f"{type(exc).__name__}: {_one_line(str(exc))}"}


def main() -> None:
    memory_bytes = int(sys.argv[1])
    signal.signal(signal.SIGPROF, _on_cpu_timer)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends
    environment = SandboxEnvironment()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    limit_self(memory_bytes)
    write_frame(stdout, {"ready": True})  # started, limited: the pool may send requests
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return  # the parent went away
        try:
            answer = render_request(environment, json.loads(frame))
        except MemoryError:
            answer = {"ok": False, "kind": "limit", "error": "the template used more memory than allowed"}
        try:
            write_frame(stdout, answer)
        except MemoryError:
            return
        if answer.get("kind") == "limit":
            return


if __name__ == "__main__":
    main()
