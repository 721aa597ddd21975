"""Run a build (or update) that kills itself with SIGKILL at one step. Test-only.

    python tests/crash_runner.py STEP OUT CACHE_DIR INPUT [INPUT ...]

``STEP`` is where the process dies, with no chance to clean up:

- ``ingest`` ``embed`` ``reduce`` ``cluster`` ``themes`` ``label``: when the
  build calls that step's function (``embed`` dies after two cache shards are
  written, so a partial cache is left behind);
- ``save-partial``: after the first table of the new map is written;
- ``save-written``: after the whole new map is written, before it is swapped in;
- ``save-swap``: between the two renames that swap the new map in (the old map
  is renamed aside, the new one not yet in place);
- ``save-cleanup``: while the replaced old map is being deleted;
- ``update-ingest`` ... ``update-save-cleanup``: the same points in an update
  (``python -m pipeline update``) adding INPUT's papers to the map at OUT;
- ``none`` / ``update-none``: no kill (for reference).

The build uses the fake embedder of ``tests/conftest.py``. Production code has no
test hooks: the step functions are replaced here before ``build`` is called.
"""

from __future__ import annotations

import os
import signal
import sys
import types
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

import pandas as pd  # noqa: E402

from pipeline import BuildConfig  # noqa: E402
from pipeline.embed import base as embed  # noqa: E402
from pipeline.engines import recipe as run  # noqa: E402
from pipeline.mapdir import store as artifacts  # noqa: E402

#: Steps and the function in ``pipeline.engines.recipe`` that starts each.
STEP_FUNCTIONS = {
    "ingest": "read_papers", "reduce": "reduce", "cluster": "cluster",
    "layers": "build_layers", "name": "name_nodes",
}
SAVE_POINTS = ["save-partial", "save-written", "save-swap", "save-cleanup"]
STEPS = ["ingest", "embed", "reduce", "cluster", "layers", "name", *SAVE_POINTS]
#: ``update`` steps: ingest, embed (the build's embed step, in ``pipeline.engines.recipe``), then
#: its placing, layer placing and renaming functions.
UPDATE_FUNCTIONS = {"update-reduce": "place", "update-cluster": "place_layers",
                    "update-label": "refresh_nodes"}
UPDATE_STEPS = ["update-ingest", "update-embed", *UPDATE_FUNCTIONS,
                *(f"update-{point}" for point in SAVE_POINTS)]


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def die_on_call(module: types.ModuleType, name: str) -> None:
    def killer(*args, **kwargs):
        die()

    setattr(module, name, killer)


def die_on_nth(function, n: int, when=lambda *a, **k: True):
    """``function``, except that the ``n``-th call matching ``when`` kills the process."""
    calls = 0

    def wrapper(*args, **kwargs):
        nonlocal calls
        if when(*args, **kwargs):
            calls += 1
            if calls == n:
                die()
        return function(*args, **kwargs)

    return wrapper


class Proxy:
    """A module as one other module sees it, with some functions replaced."""

    def __init__(self, module: types.ModuleType, **overrides) -> None:
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._module, name)


def die_while_embedding(module: types.ModuleType) -> None:
    """``module.embed_texts`` dies after two cache shards are saved."""
    embed.SHARD_SIZE = 2  # several shards for a small corpus
    original = module.embed_texts

    def embed_texts(texts, embedder, **kwargs):
        embedder.encode = die_on_nth(embedder.encode, 3)
        return original(texts, embedder, **kwargs)

    module.embed_texts = embed_texts


def arm(step: str) -> None:
    """Make the process die at ``step``."""
    if step.startswith("update-"):
        from pipeline.engines import update

        if step in UPDATE_FUNCTIONS:
            die_on_call(update, UPDATE_FUNCTIONS[step])
        elif step == "update-ingest":
            die_on_call(update, "read_papers")
        elif step == "update-embed":
            die_while_embedding(run)
        else:
            arm(step.removeprefix("update-"))
    elif step in STEP_FUNCTIONS:
        die_on_call(run, STEP_FUNCTIONS[step])
    elif step == "embed":
        die_while_embedding(run)
    elif step == "save-partial":
        pd.DataFrame.to_parquet = die_on_nth(pd.DataFrame.to_parquet, 2)
    elif step == "save-written":
        original_write = artifacts.write_map_files

        def write_then_die(*args, **kwargs):
            original_write(*args, **kwargs)
            die()

        artifacts.write_map_files = write_then_die
    elif step == "save-swap":
        # The first rename moves the old map aside, the second moves the new one in.
        artifacts.os = Proxy(os, replace=die_on_nth(os.replace, 2))
    elif step == "save-cleanup":
        shutil = artifacts.shutil
        artifacts.shutil = Proxy(shutil, rmtree=die_on_nth(
            shutil.rmtree, 1, lambda path, **k: ".old-" in str(path)))
    elif step != "none":
        raise SystemExit(f"unknown step {step!r}; steps: {', '.join(STEPS + UPDATE_STEPS)}")


def main(argv: list[str]) -> int:
    step, out, cache_dir, *inputs = argv
    from conftest import FakeEmbedder

    arm(step)
    if step.startswith("update"):
        from pipeline.engines.update import update_map

        update_map(out, inputs, embedder=FakeEmbedder(), cache_dir=cache_dir)
    else:
        run.build(inputs, out, BuildConfig(), embedder=FakeEmbedder(), cache_dir=cache_dir,
                  show_progress=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
