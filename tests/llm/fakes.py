"""Loopback LLM servers speaking each provider's wire format, answering from recorded envelopes.

Each `FakeLlm` is a real HTTP server on 127.0.0.1 that the provider's official SDK reaches through
its base-URL / endpoint setting: Anthropic Messages (`/v1/messages`), OpenAI Chat Completions
(`/v1/chat/completions`), Gemini generateContent (`/v1beta/models/<model>:generateContent`) and
Bedrock Converse (`/model/<id>/converse`). The envelopes (`recordings/<provider>.json`) were written
from each API's reference; a test scripts what comes back (answer texts, errors with headers,
delays). A wrong key or an unknown model is refused the way that provider refuses it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

RECORDINGS = Path(__file__).parent / "recordings"
PROVIDERS = ("anthropic", "openai", "google", "bedrock")
MODELS = {
    "anthropic": "claude-sonnet-5-5",
    "openai": "gpt-5.4-mini",
    "google": "gemini-3-flash",
    "bedrock": "anthropic.claude-sonnet-5-5-v1:0",
}
KEYS = {
    "anthropic": "sk-ant-api03-" + "k" * 40,
    "openai": "sk-proj-" + "o" * 40,
    "google": "AIzaSy" + "g" * 33,
    "bedrock": "AKIAFAKEFAKEFAKE0001:" + "s" * 40,
}


@dataclass
class Scripted:
    text: str | None = None
    status: int | None = None  # an error: a key of the recording's `errors` (401 = a refused key there)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # a body sent as is (text/html): a reply no SDK can read
    input_tokens: int = 1200
    output_tokens: int = 80


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() on arrival


class FakeLlm:
    def __init__(self, provider: str, *, key: str | None = None, models: tuple[str, ...] | None = None) -> None:
        self.provider = provider
        self.key = KEYS[provider] if key is None else key
        self.models = models or (MODELS[provider],)
        self.recording: dict[str, Any] = json.loads((RECORDINGS / f"{provider}.json").read_text())
        self.script: list[Scripted] = []
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    # ---- scripting

    def answer(self, text: str, **kwargs: Any) -> FakeLlm:
        self.script.append(Scripted(text=text, **kwargs))
        return self

    def garbage(self, body: bytes = b"<html><body>502 Bad Gateway</body></html>") -> FakeLlm:
        self.script.append(Scripted(raw=body))
        return self

    def fail(self, status: int, headers: dict[str, str] | None = None, *, delay: float = 0.0) -> FakeLlm:
        self.script.append(Scripted(status=status, headers=headers or {}, delay=delay))
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        base = f"http://{host}:{port}"
        return base + "/v1" if self.provider == "openai" else base

    @property
    def secret(self) -> str:
        """The value stored as the user's api_key."""
        return self.key

    def sent_texts(self, index: int = -1) -> str:
        """Everything a request carried (system prompt and messages), as one text."""
        return json.dumps(self.requests[index].body)

    # ---- serving

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fake._lock:
                    fake.requests.append(Received(self.path, headers, body, time.monotonic()))
                status, extra, payload = fake._respond(self.path, headers, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "text/html" if isinstance(payload, bytes) else "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _respond(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        model = self._model(path, body)
        if self._key_of(headers, path) != self._expected_key():
            return self._error(401, {}, model)
        if model not in self.models:
            return self._error(404, {}, model)
        with self._lock:
            step = self.script.pop(0) if self.script else Scripted(status=500)
        if step.delay:
            time.sleep(step.delay)
        if step.status is not None:
            return self._error(step.status, step.headers, model)
        if step.raw is not None:
            return 200, step.headers, step.raw
        return 200, step.headers, self._envelope(step, model)

    def _model(self, path: str, body: dict[str, Any]) -> str:
        if self.provider == "google":
            found = re.search(r"/models/([^/:]+):generateContent", path)
            return unquote(found.group(1)) if found else ""
        if self.provider == "bedrock":
            found = re.search(r"/model/([^/]+)/converse", urlsplit(path).path)
            return unquote(found.group(1)) if found else ""
        return str(body.get("model", ""))

    def _expected_key(self) -> str:
        return self.key.split(":")[0] if self.provider == "bedrock" else self.key

    def _key_of(self, headers: dict[str, str], path: str) -> str:
        bearer = headers.get("authorization", "")
        if self.provider == "bedrock":  # SigV4: the access key id is in the credential scope
            found = re.search(r"Credential=([^/]+)/", bearer)
            return found.group(1) if found else ""
        if self.provider == "google":
            return headers.get("x-goog-api-key", "")
        if self.provider == "anthropic" and headers.get("x-api-key"):
            return headers["x-api-key"]
        return bearer.removeprefix("Bearer ").strip()

    def _envelope(self, step: Scripted, model: str) -> Any:
        text = json.dumps(self.recording["answer"])
        filled: Any = json.loads(text.replace("__MODEL__", model))
        if self.provider == "anthropic":
            filled["content"][0]["text"] = step.text
            filled["usage"].update(input_tokens=step.input_tokens, output_tokens=step.output_tokens)
        elif self.provider == "openai":
            filled["choices"][0]["message"]["content"] = step.text
            filled["usage"].update(
                prompt_tokens=step.input_tokens,
                completion_tokens=step.output_tokens,
                total_tokens=step.input_tokens + step.output_tokens,
            )
        elif self.provider == "google":
            filled["candidates"][0]["content"]["parts"][0]["text"] = step.text
            filled["usageMetadata"].update(
                promptTokenCount=step.input_tokens,
                candidatesTokenCount=step.output_tokens,
                totalTokenCount=step.input_tokens + step.output_tokens,
            )
        else:
            filled["output"]["message"]["content"][0]["text"] = step.text
            filled["usage"].update(
                inputTokens=step.input_tokens,
                outputTokens=step.output_tokens,
                totalTokens=step.input_tokens + step.output_tokens,
            )
        return filled

    def _error(self, status: int, headers: dict[str, str], model: str) -> tuple[int, dict[str, str], Any]:
        errors = self.recording["errors"]
        chosen = errors.get(str(status)) or errors["500"]
        text = json.dumps(chosen).replace("__MODEL__", model).replace("__KEY__", self.key)
        payload: Any = json.loads(text)
        if self.provider == "bedrock":
            return int(payload["status"]), {"x-amzn-ErrorType": payload["type"], **headers}, payload["body"]
        if self.provider == "google":
            return int(payload["error"]["code"]), headers, payload
        return status, headers, payload

    @contextmanager
    def running(self) -> Iterator[FakeLlm]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)
