"""The load test's client side: the app server it starts, and one dashboard session
speaking Streamlit's websocket protocol (``benchmarks/load_test.py`` runs many)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
SPECIAL_TRACES = ("search results", "open paper")


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB, from /proc."""
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                values[key] = int(value.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


class Server:
    """``streamlit run dashboard.py -- --map MAP`` on 127.0.0.1, with an RSS sampler."""

    def __init__(self, map_path: Path, log_path: Path, *, app: Path = ROOT,
                 extra: list[str] | tuple[str, ...] = (),
                 streamlit: tuple[str, ...] = ("-m", "streamlit")) -> None:
        """The ``dashboard.py`` of checkout ``app`` (its own code and settings) on the map;
        ``extra``: more arguments for the app (``--overview-points N``); ``streamlit``: how
        Python starts Streamlit (the tests' ``tests/fake_streamlit.py`` registers their
        fake embedding backend first)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")  # closed in stop()
        env = dict(os.environ, TOPICMAP_MAPS_DIR=str(map_path.parent))
        self.process = subprocess.Popen(
            [sys.executable, *streamlit, "run", str(app / "dashboard.py"),
             "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false", "--", "--map", str(map_path), *extra],
            cwd=app, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_healthy(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited: {self.log_tail()}")
            with suppress(OSError), urllib.request.urlopen(
                    f"{self.url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    self._sampler.start()
                    return
            time.sleep(0.3)
        raise RuntimeError(f"streamlit not healthy after {timeout}s: {self.log_tail()}")

    def _sample(self) -> None:
        while not self._stop.is_set():
            with suppress(OSError):
                self.samples.append((time.monotonic(), rss_kib(self.process.pid)[0]))
            self._stop.wait(0.25)

    def rss_mib(self) -> float:
        return rss_kib(self.process.pid)[0] / 1024

    def peak_mib(self) -> float:
        return rss_kib(self.process.pid)[1] / 1024

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        self._log.close()


# --------------------------------------------------------------------------- results


@dataclass
class Results:
    timings: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    reruns: int = 0

    def add(self, kind: str, seconds: float) -> None:
        self.timings.setdefault(kind, []).append(seconds)

    def error(self, where: str, what: str) -> None:
        self.errors.append(f"{where}: {what}"[:300])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- protocol sessions


def trace_length(trace: dict) -> int:
    x = trace.get("x", [])
    if isinstance(x, dict):  # Plotly's typed array: base64 of float32/float64 values
        size = 4 if x.get("dtype", "f4") in ("f4", "float32") else 8
        return len(base64.b64decode(x["bdata"])) // size
    return len(x)


def points_in(spec: str) -> int:
    figure = json.loads(spec)
    return sum(trace_length(t) for t in figure.get("data", [])
               if t.get("name") not in SPECIAL_TRACES
               and t.get("type") in ("scattergl", "scatter"))


def papers_shown(overlay_json: str, total: int) -> int:
    """Papers a filter lets through, from the map overlay's data (the rest are dimmed):
    its mask has a bit per paper, or is null when every paper passes."""
    mask = (json.loads(overlay_json).get("state") or {}).get("mask")
    if mask is None:
        return total
    bits = base64.b64decode(mask)
    return sum(bin(byte).count("1") for byte in bits)


class Session:
    """One dashboard session over Streamlit's websocket protocol."""

    def __init__(self, name: str, port: int, map_name: str, results: Results) -> None:
        self.name = name
        self.port = port
        self.map_name = map_name
        self.results = results
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.widgets: dict[str, str] = {}  # user key -> widget id
        self.fragments: dict[str, str] = {}  # user key -> id of the fragment drawing it
        self.states: dict[str, object] = {}  # widget id -> WidgetState

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=["streamlit"],
            origin=f"http://127.0.0.1:{self.port}", max_size=None, open_timeout=60,
            ping_timeout=None)

    async def close(self) -> None:
        if self.ws is not None:
            with suppress(Exception):
                await self.ws.close()

    async def rerun(self, *, page: str = "", query: dict | None = None,
                    fragment: str | None = None, timeout: float = 300) -> dict:
        """Send a rerun (of the fragment with id ``fragment`` only, as a browser does when a
        widget of a fragment changes); wait for it to finish. Returns what the page sent
        back: charts, components (their JSON data), markdown, exceptions, status."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = urlencode({"map": self.map_name, **(query or {})})
        message.rerun_script.page_script_hash = self.pages.get(page, "")
        if fragment:
            message.rerun_script.fragment_id = fragment
        for state in self.states.values():
            message.rerun_script.widget_states.widgets.append(state)
        await self.ws.send(message.SerializeToString())
        seen: dict = {"charts": {}, "components": {}, "exceptions": [], "markdown": []}
        deadline = time.monotonic() + timeout
        while True:
            data = await asyncio.wait_for(self.ws.recv(), deadline - time.monotonic())
            reply = ForwardMsg()
            reply.ParseFromString(data)
            kind = reply.WhichOneof("type")
            if kind in ("new_session", "navigation"):
                for app_page in getattr(reply, kind).app_pages:
                    self.pages["/" + app_page.url_pathname if app_page.url_pathname else ""] = \
                        app_page.page_script_hash
            elif kind == "delta" and reply.delta.WhichOneof("type") == "new_element":
                element = reply.delta.new_element
                which = element.WhichOneof("type")
                proto = getattr(element, which)
                widget_id = getattr(proto, "id", "")
                if widget_id:
                    self.widgets[widget_id.rsplit("-", 1)[-1]] = widget_id
                    if reply.delta.fragment_id:
                        self.fragments[widget_id.rsplit("-", 1)[-1]] = reply.delta.fragment_id
                if which == "plotly_chart":
                    seen["charts"][widget_id.rsplit("-", 1)[-1]] = proto.spec
                elif which == "bidi_component":
                    seen["components"][widget_id.rsplit("-", 1)[-1]] = proto.json
                elif which == "exception":
                    seen["exceptions"].append(f"{proto.type}: {proto.message}")
                elif which == "markdown":
                    seen["markdown"].append(proto.body)
            elif kind == "script_finished":
                self.results.reruns += 1
                seen["status"] = reply.script_finished
                if reply.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return seen  # else the page asked for a rerun (st.rerun): it follows

    def set_widget(self, key: str, **value) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id = self.widgets[key]
        state = WidgetState(id=widget_id)
        for field_name, field_value in value.items():
            if field_name == "double_array_value":
                state.double_array_value.data.extend(field_value)
            else:
                setattr(state, field_name, field_value)
        self.states[widget_id] = state

    def check(self, where: str, seen: dict) -> bool:
        if seen.get("status") not in (0, 3):  # FINISHED_SUCCESSFULLY, FRAGMENT_RUN_SUCCESSFULLY
            self.results.error(f"{self.name} {where}", f"script finished with {seen.get('status')}")
            return False
        if seen["exceptions"]:
            self.results.error(f"{self.name} {where}", "; ".join(seen["exceptions"]))
            return False
        return True
