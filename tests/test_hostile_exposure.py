"""Exposure (issue 5): the app listens on this machine only, and takes no path or file it
should not.

- ``.streamlit/config.toml`` binds to 127.0.0.1, keeps XSRF protection, sends no
  usage statistics and keeps the upload limit small;
- started from any working directory (Streamlit also reads the config beside
  the script), the server listens on loopback only;
- a map name from the URL never reaches outside the maps folder, symlinks and
  encoded tricks included (``tests/test_dashboard_units.py`` has the plain cases);
- any file upload the pages offer names its allowed types.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest

from pipeline.errors import MapFormatError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"


def read_config() -> dict:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_config_listens_on_loopback_only():
    config = read_config()
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"].get("enableXsrfProtection", True) is True
    assert config["server"].get("maxUploadSize", 200) <= 50  # MB; Streamlit's default is 200
    assert config["browser"]["gatherUsageStats"] is False


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses listening on ``port`` (Linux /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with suppress(OSError), open(table) as handle:
            next(handle)
            for line in handle:
                fields = line.split()
                local, state = fields[1], fields[3]
                address, hex_port = local.rsplit(":", 1)
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net")
def test_server_started_elsewhere_listens_on_loopback_only(small_map, tmp_path):
    from test_browser import free_port

    port = free_port()
    env = dict(os.environ, TOPICMAP_MAPS_DIR=str(small_map.parent))
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    log = open(tmp_path / "streamlit.log", "w")  # closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
         "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--", "--map", str(small_map)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)  # not the project dir
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            with suppress(OSError), urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    break
            time.sleep(0.3)
        addresses = listening_addresses(port)
        assert addresses, (tmp_path / "streamlit.log").read_text()
        # 0100007F is 127.0.0.1; anything else (00000000 = all interfaces) is exposure.
        assert addresses == {"0100007F"}, addresses
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_map_names_cannot_leave_the_maps_folder(tmp_path, monkeypatch):
    from ui.core import paths

    root = tmp_path / "maps"
    (root / "good").mkdir(parents=True)
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "manifest.json").write_text("{}")
    (root / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.setenv(paths.MAPS_ENV, str(root))
    assert paths.map_by_name("good") == (root / "good").resolve()
    for name in ["link", "link/", "good/../../secret", "%2e%2e/secret", "good/../..",
                 "..\\secret", "\x00", "good\x00", str(outside), "~root", "./../secret"]:
        try:
            resolved = paths.map_by_name(name)
        except MapFormatError:
            continue
        assert root.resolve() in resolved.parents, (name, resolved)


def test_file_uploads_name_their_allowed_types():
    """No page takes an upload of any type (today there are no uploads at all)."""
    sources = [ROOT / "dashboard.py", *sorted((ROOT / "pages").glob("*.py")),
               *sorted((ROOT / "ui").glob("*.py"))]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "file_uploader":
                assert any(k.arg == "type" for k in node.keywords), \
                    f"{source.name}: file_uploader without type="
    assert len(sources) > 3  # the scan saw the app
