"""A small OpenAI-compatible Chat Completions server for tests: 127.0.0.1, a thread, no model.

``FakeLLM().start()`` serves ``POST /v1/chat/completions``. Each request is recorded
(path, headers, parsed body). Responses queued in ``script`` (status, body, headers)
are served first; then ``reply(body) -> str`` writes the assistant's content (by
default a JSON name made from the prompt's first key phrases).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def user_text(body: dict) -> str:
    """The first user message of a request."""
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


def key_phrases(body: dict) -> list[str]:
    """The key phrases the prompt lists."""
    match = re.search(r"key phrases, most characteristic first: (.*?)\.\n", user_text(body))
    return match.group(1).split("; ") if match else []


def default_reply(body: dict) -> str:
    """``{"name": "<Phrase> <Phrase> Topics", ...}`` from the first two key phrases."""
    terms = key_phrases(body)[:2] or ["misc"]
    name = " ".join(terms).title()
    if "already named" in body["messages"][-1]["content"]:
        name += " Variant"
    return json.dumps({"name": f"{name} Topics",
                       "description": f"Papers about {' and '.join(terms)}."})


class FakeLLM:
    """The server; use as a context manager or call ``start``/``stop``."""

    def __init__(self, reply: Callable[[dict], str] = default_reply) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, Any, dict[str, str]]] = []
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """The API's base URL, as a user would give it."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                body = json.loads(raw)
                fake.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": body})
                if fake.script:
                    status, payload, headers = fake.script.pop(0)
                else:
                    status, headers = 200, {}
                    payload = {"id": "x", "object": "chat.completion", "model": body["model"],
                               "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                   "role": "assistant", "content": fake.reply(body)}}]}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for key, value in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (timeout tests)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
