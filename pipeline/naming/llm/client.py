"""A minimal client for OpenAI-compatible Chat Completions endpoints, and an answer cache.

Ollama (``http://localhost:11434/v1``), llama.cpp's server, vLLM, LM Studio and
hosted APIs all accept ``POST <base>/chat/completions``; this speaks it with the
standard library only (urllib + json), so no SDK is needed.

- ``Endpoint`` checks a URL (http or https, no credentials in it) and names it
  without its query string: that name goes into messages, ``host`` into the manifest.
- ``ChatClient.complete`` sends one request (``temperature`` 0, dropped for good
  when the model refuses it, as reasoning models do) and retries with exponential backoff
  on 429, 408, 5xx, timeouts and connection errors (``Retry-After`` honoured);
  other HTTP errors, and exhausted retries, raise ``LLMError`` (a
  ``PipelineError``: one ``error:`` line naming the endpoint, exit 2). Redirects
  are not followed (they would carry the key elsewhere), and answers are read
  up to ``MAX_RESPONSE_BYTES``.
- ``AnswerCache`` keeps answers on disk by a hash of (model, messages): never
  the key, the URL or the headers.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.mapdir.atomic import atomic_file

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]
MAX_RESPONSE_BYTES = 1 << 20
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0


class LLMError(PipelineError):
    """The endpoint could not be reached or refused the request; the map is unchanged."""


@dataclass(frozen=True)
class Endpoint:
    """A checked Chat Completions URL."""

    url: str  # what is requested: <base>/chat/completions (query kept)

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """Check ``url`` and complete a base URL (``.../v1``) to ``.../v1/chat/completions``."""
        parts = urllib.parse.urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PipelineError(f"--llm-url must be an http:// or https:// URL, e.g. "
                                f"http://localhost:11434/v1 (got {_redact(url)!r})")
        if parts.username or parts.password:
            raise PipelineError("--llm-url must not hold credentials (they would end up in "
                                "logs and shell history); put the key in an environment "
                                "variable and name it with --api-key-env")
        path = parts.path.rstrip("/") or "/v1"
        if not path.endswith("/chat/completions"):
            path += "/chat/completions"
        return cls(urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")))

    @property
    def host(self) -> str:
        """``hostname[:port]``: what the manifest records."""
        return urllib.parse.urlsplit(self.url).netloc

    @property
    def display(self) -> str:
        """The URL without its query string (which some services use for keys)."""
        parts = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _redact(url: str) -> str:
    """``url`` with any user:password@ and query removed, for messages."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))[:200]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> None:
        return None  # an HTTPError is raised instead: a redirect would carry the key along


def read_api_key(variable: str | None) -> str | None:
    """The key in environment variable ``variable`` (None when no variable is named)."""
    if not variable:
        return None
    key = os.environ.get(variable, "").strip()
    if not key:
        raise PipelineError(f"--api-key-env names ${variable}, but it is not set (or empty); "
                            f"export {variable}=... first")
    return key


@dataclass
class ChatClient:
    """Sends chat requests to one endpoint and model; counts what it sends."""

    endpoint: Endpoint
    model: str
    api_key: str | None = field(default=None, repr=False)
    key_variable: str | None = None
    timeout: float = 120.0
    retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    temperature: float | None = 0.0
    sleep: Callable[[float], None] | None = None  # time.sleep when None (tests replace it)
    requests: int = 0  # HTTP requests sent, retries included
    answers: int = 0  # answers received

    def complete(self, messages: Messages) -> str:
        """The assistant's reply to ``messages``; raises ``LLMError`` when none comes."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        opener = urllib.request.build_opener(_NoRedirect)
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            body: dict[str, Any] = {"model": self.model, "messages": messages, "stream": False}
            if self.temperature is not None:
                body["temperature"] = self.temperature
            request = urllib.request.Request(self.endpoint.url, data=json.dumps(body).encode(),
                                             headers=headers, method="POST")
            try:
                with opener.open(request, timeout=self.timeout) as response:
                    payload = response.read(MAX_RESPONSE_BYTES + 1)
                break
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}{_server_message(exc)}"
                if exc.code == 400 and self.temperature is not None and \
                        "temperature" in problem.lower():
                    log.info("%s takes no temperature setting; asking without", self.model)
                    self.temperature, attempt = None, attempt - 1  # (reasoning models)
                    continue
                if exc.code not in RETRY_STATUSES:
                    raise LLMError(self._refused(exc.code, problem)) from None
                wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
                problem = _transport_problem(exc, self.timeout)
                wait = None
            if attempt > self.retries:
                raise LLMError(f"LLM endpoint {self.endpoint.display} failed: {problem} "
                               f"({attempt} tries); the map is unchanged (answers received so "
                               "far are cached: run again to resume)")
            delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            delay = max(delay, wait) if wait is not None else delay
            log.info("LLM endpoint %s: %s; retrying in %.1f s", self.endpoint.display,
                     problem, delay)
            (self.sleep or time.sleep)(delay)
        self.answers += 1
        return self._content(payload)

    def _refused(self, code: int, problem: str) -> str:
        where = f"LLM endpoint {self.endpoint.display} refused the request: {problem}"
        if code in (401, 403):
            hint = (f"check the key in ${self.key_variable}" if self.key_variable else
                    "it wants a key: name the environment variable holding it with --api-key-env")
        elif 300 <= code < 400:
            hint = ("it redirects elsewhere (not followed: the key would go along); give the "
                    "final URL")
        elif code == 404:
            hint = ("check the URL (the API's base, e.g. http://localhost:11434/v1) and that "
                    f"model {self.model!r} exists there")
        else:
            hint = f"check --llm-model ({self.model!r}) and the endpoint's documentation"
        return f"{where}; {hint}; the map is unchanged"

    def _content(self, payload: bytes) -> str:
        """``choices[0].message.content`` of a response body."""
        problem = None
        if len(payload) > MAX_RESPONSE_BYTES:
            problem = f"an answer over {MAX_RESPONSE_BYTES} bytes"
        else:
            try:
                content = json.loads(payload.decode("utf-8"))["choices"][0]["message"]["content"]
            except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError):
                problem = "an answer that is not a Chat Completions response"
            else:
                if isinstance(content, str):
                    return content
                problem = "an answer without text content"
        raise LLMError(f"LLM endpoint {self.endpoint.display} sent {problem}; is it an "
                       "OpenAI-compatible /chat/completions endpoint? The map is unchanged")


def _server_message(exc: urllib.error.HTTPError) -> str:
    """``: <the server's error message>``, one line, at most 200 characters ('' if none)."""
    try:
        raw = exc.read(4096).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        parsed = json.loads(raw)
        error = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        raw = str(error.get("message", error) if isinstance(error, dict) else error)
    except ValueError:
        pass
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in raw).split())
    return f": {text[:200]}" if text else ""


def _transport_problem(exc: BaseException, timeout: float) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s (--timeout)"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running?)"
    text = " ".join(str(reason).split())[:200]
    return f"cannot connect ({text or type(reason).__name__})"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (a number), capped; None when absent or a date."""
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value))) if value else None
    except ValueError:
        return None


class AnswerCache:
    """Answers by a hash of (model, messages), one small JSON file each, under ``root/llm``."""

    def __init__(self, root: Path | str) -> None:
        self.dir = Path(root) / "llm"

    @staticmethod
    def key(model: str, messages: Messages) -> str:
        """SHA-256 of the model and the prompt: what an answer is stored under."""
        text = json.dumps({"model": model, "messages": messages}, sort_keys=True,
                          ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, model: str, messages: Messages) -> str | None:
        """The cached answer, or None (a corrupt entry counts as none)."""
        path = self._path(self.key(model, messages))
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        content = entry.get("content") if isinstance(entry, dict) else None
        return content if isinstance(content, str) and entry.get("model") == model else None

    def put(self, model: str, messages: Messages, content: str) -> None:
        """Store an answer atomically (a temporary file renamed into place)."""
        with atomic_file(self._path(self.key(model, messages))) as tmp, \
                open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"model": model, "content": content}, handle, ensure_ascii=False)
