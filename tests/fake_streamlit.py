"""``python tests/fake_streamlit.py run dashboard.py ...``: Streamlit, in a process where the
tests' fake embedding backend is registered (``conftest.register_fake_backend``), so the
app searches maps built with the fake embedder as it searches any map: with the backend
the map records. The browser tests and the small load test start the app this way."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from conftest import register_fake_backend  # noqa: E402

register_fake_backend()

from streamlit.web.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
