"""The OpenVINO int8 backend (``ov-int8``; see ``pipeline.embed.registry``).

The transformer runs in OpenVINO with int8 weights *and* activations, quantised
once with NNCF's post-training quantisation (``ModelType.TRANSFORMER``: SmoothQuant
on the MatMuls, per-channel symmetric int8 weights, activation ranges calibrated on
a fixed set of texts, fast bias correction). On a CPU with VNNI (``avx512_vnni`` or
``avx_vnni``) its MatMuls run on the int8 dot-product instructions: 3-4x torch
float32 at 256 tokens on two cores, with kNN@10 agreement ~0.94 and the same map
NMI within the seed-to-seed spread (BENCHMARKS.md, docs/scale.md).

One quantised model per model weights serves every build and the dashboard's
queries: the calibration texts are 128 papers of the shipped ``sample/papers.csv``
(seeded draw), not the user's corpus, which measured as good on a corpus far from
them (medical abstracts; README, "Which embedder when"). The model is made on
first use from the local weights (ONNX export with eager attention, NNCF,
``openvino.save_model``), and cached under
``<cache_dir>/openvino/<model>-<weights hash>-<settings>/`` (written to a temporary
folder, then renamed: a crash leaves nothing half-written). Nothing is downloaded.

It needs ``openvino`` to run and ``nncf`` to quantise (requirements.txt; nncf is
not imported once the model is cached). Both send usage telemetry to Google
Analytics through ``openvino-telemetry`` unless the user opted out
(``import openvino`` sends an "import" event; a missing consent file counts as
yes). They are imported here only through :func:`import_openvino` and
:func:`import_nncf`, which hide ``openvino-telemetry`` so that both take their
built-in no-op stubs: nothing is sent, no client-id file is written.

Inference uses OpenVINO's throughput mode: all batches of a call are queued on an
``AsyncInferQueue`` and run on as many streams as OpenVINO picks (two on two
cores, one core each: no barrier between the cores); texts are sorted by length so
each batch is padded only to its longest member, and pooled as the model's
sentence-transformers config says (mean or CLS).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.util
import io
import json
import logging
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError, first_line
from pipeline.mapdir.atomic import atomic_folder

from .base import default_cache_dir, resolve_model, slug, transformer_folder, weights_digest
from .onnx import (
    _available_cores,
    export_fp32_graph,
    length_sorted_batches,
    model_tokenizer,
    pool,
)

log = logging.getLogger(__name__)

#: Bump when the quantisation recipe changes: cached models are then made again.
OV_VERSION = 1
#: The shipped texts the activations are calibrated on (first column title, second abstract).
CALIBRATION_FILE = Path(__file__).resolve().parents[2] / "sample" / "papers.csv"
_NOT_A_MODEL = ("backend ov-int8 needs a local sentence-transformers folder with config.json "
                "and tokenizer.json; {!r} is not one. Pass --model with such a folder, or use "
                "--backend torch")
_MISSING = ("backend ov-int8 needs the packages openvino and nncf (requirements.txt: "
            "`pip install -r requirements.txt`), or use --backend torch")


@dataclass(frozen=True)
class QuantSettings:
    """What decides the quantised model (part of its cache key)."""

    n_calibration: int = 128
    calibration_seed: int = 7
    calibration_batch: int = 16
    preset: str = "mixed"
    version: int = OV_VERSION

    def key(self, calibration_digest: str) -> str:
        return (f"cal{self.n_calibration}s{self.calibration_seed}-{calibration_digest}-"
                f"{self.preset}-v{self.version}")


def openvino_installed(device: str | None = None) -> bool:
    """Whether OpenVINO (to run) and NNCF (to quantise once) are importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("openvino", "nncf"))


def calibration_texts(settings: QuantSettings, path: Path = CALIBRATION_FILE) -> list[str]:
    """``settings.n_calibration`` papers of the shipped sample (seeded draw), as embedded."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [(r.get("title") or "", r.get("abstract") or "") for r in csv.DictReader(handle)]
    except OSError as exc:
        raise PipelineError(f"backend ov-int8 calibrates on {path}, which cannot be read "
                            f"({exc}); restore it from the repository or use --backend torch"
                            ) from None
    texts = [f"{t}. {a}" if t else a for t, a in rows if (t or a)]
    rng = np.random.default_rng(settings.calibration_seed)
    pick = np.sort(rng.choice(len(texts), size=min(settings.n_calibration, len(texts)),
                              replace=False))
    return [texts[i] for i in pick]


def _digest(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest())
    return digest.hexdigest()[:10]


def _without_telemetry(name: str):
    """Import ``name`` with ``openvino_telemetry`` hidden (see :func:`import_openvino`)."""
    if name not in sys.modules:
        absent = object()
        saved = sys.modules.get("openvino_telemetry", absent)
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # ImportError
        try:
            importlib.import_module(name)
        finally:
            if saved is absent:
                del sys.modules["openvino_telemetry"]
            else:
                sys.modules["openvino_telemetry"] = saved
    return sys.modules[name]


def import_openvino():
    """``openvino``, imported without its usage telemetry.

    ``import openvino`` loads its model-conversion tools, which send an "import"
    event to Google Analytics through ``openvino-telemetry`` unless the user opted
    out (a missing consent file counts as consent). They fall back to a built-in
    no-op stub when that package cannot be imported, so it is hidden for the
    import: nothing is sent, no client-id file is written in the home folder.
    """
    return _without_telemetry("openvino")


def import_nncf():
    """``nncf``, imported without its usage telemetry (as :func:`import_openvino`).

    NNCF falls back to its own no-op stub when ``openvino_telemetry`` cannot be
    imported; a telemetry object made by an earlier import elsewhere is replaced by
    that stub.
    """
    import_openvino()
    nncf = _without_telemetry("nncf")
    from nncf.telemetry import decorator, wrapper

    if not isinstance(wrapper.telemetry, wrapper.NNCFTelemetryStub):
        wrapper.telemetry = decorator.telemetry = wrapper.NNCFTelemetryStub()
    return nncf


class OvInt8Embedder:
    """A sentence-transformers model run by OpenVINO in int8 on the CPU."""

    backend = "ov-int8"

    def __init__(self, model: str = "default", *, device: str | None = None,
                 cache_dir: Path | str | None = None, settings: QuantSettings | None = None,
                 calibration: Sequence[str] | None = None, threads: int | None = None) -> None:
        del device  # OpenVINO runs on the CPU here
        self.model = model
        self.path, self.name = resolve_model(model)
        self.settings = settings or QuantSettings()
        self.cache_root = Path(cache_dir) if cache_dir else default_cache_dir()
        self.threads = threads
        self._calibration = list(calibration) if calibration is not None else None
        self._key: str | None = None
        self._compiled = None
        self._queue = None
        self._lock = threading.Lock()
        self.one_time_s = 0.0  # seconds spent quantising in this process (0: cached)

    # -- where things live

    def _folder(self) -> Path:
        return transformer_folder(self.path, _NOT_A_MODEL.format(self.model))

    def calibration(self) -> list[str]:
        if self._calibration is None:
            self._calibration = calibration_texts(self.settings)
        return self._calibration

    def settings_key(self) -> str:
        """Weights digest and quantisation settings (with the calibration texts' digest)."""
        if self._key is None:
            digest = weights_digest(self._folder())
            self._key = f"{digest}-{self.settings.key(_digest(self.calibration()))}"
        return self._key

    @property
    def cache_key(self) -> str:
        """Embedding-cache key: the model, its weights and the quantisation settings."""
        return f"{self.name}@{self.backend}-{self.settings_key()}"

    def model_dir(self) -> Path:
        """Where the quantised model (``model.xml``/``model.bin``) is cached."""
        return self.cache_root / "openvino" / f"{slug(self.name)}-{self.settings_key()}"

    def ready(self) -> bool:
        """Whether it can embed now without the one-time quantisation (for queries)."""
        try:
            return (importlib.util.find_spec("openvino") is not None
                    and (self.model_dir() / "model.xml").is_file())
        except PipelineError:
            return False

    # -- loading

    def _load(self):
        if self._compiled is not None:
            return self._compiled
        if importlib.util.find_spec("openvino") is None:
            raise PipelineError(_MISSING)
        ov = import_openvino()
        folder = self._folder()
        tokenizer, self._pooling = model_tokenizer(folder)
        target = self.model_dir()
        if not (target / "model.xml").is_file():
            started = time.perf_counter()
            quantize_to(folder, target, self.calibration(), self.settings, tokenizer)
            self.one_time_s = time.perf_counter() - started
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "THROUGHPUT"}
        if self.threads or _available_cores():
            config["INFERENCE_NUM_THREADS"] = str(self.threads or _available_cores())
        try:
            compiled = core.compile_model(core.read_model(str(target / "model.xml")), "CPU",
                                          config)
        except Exception as exc:  # noqa: BLE001 - a damaged cached model: make it again
            log.warning("cached OpenVINO model %s is unusable (%s); quantising it again",
                        target, first_line(exc))
            shutil.rmtree(target, ignore_errors=True)
            quantize_to(folder, target, self.calibration(), self.settings, tokenizer)
            compiled = core.compile_model(core.read_model(str(target / "model.xml")), "CPU",
                                          config)
        requests = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._inputs = {p.get_any_name() for p in compiled.inputs}
        self._tokenizer = tokenizer
        self._queue = ov.AsyncInferQueue(compiled, max(1, requests))
        self._compiled = compiled
        return compiled

    @functools.cached_property
    def dimension(self) -> int:
        """The model's hidden size, from its config.json (nothing is loaded or quantised)."""
        return int(json.loads((self._folder() / "config.json").read_text())["hidden_size"])

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors in the input order; all batches of the call are
        queued at once and pooled as each completes, on whichever stream is free."""
        self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        with self._lock:  # one queue, one callback: calls from several threads take turns
            feeds, rowsets = length_sorted_batches(self._tokenizer, texts, batch_size,
                                                   self._inputs)

            def pooled(request, index: int) -> None:  # as each batch completes
                out[rowsets[index]] = pool(request.get_output_tensor(0).data,
                                           feeds[index]["attention_mask"], self._pooling)

            self._queue.set_callback(pooled)
            for index, feed in enumerate(feeds):
                self._queue.start_async(feed, userdata=index)
            self._queue.wait_all()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


# --------------------------------------------------------------------------- quantisation


def quantize_to(folder: Path, target: Path, calibration: Sequence[str],
                settings: QuantSettings, tokenizer) -> Path:
    """Quantise the transformer in ``folder`` to an int8 OpenVINO model at ``target``
    (a folder, written atomically: a temporary folder renamed into place)."""
    if not openvino_installed():
        raise PipelineError(_MISSING)
    nncf = import_nncf()
    ov = import_openvino()

    started = time.perf_counter()
    log.info("quantising %s to int8 with OpenVINO/NNCF (once; cached in %s)", folder.name,
             target)
    try:
        with atomic_folder(target, ".ov-") as tmp:
            onnx = export_fp32_graph(folder, tmp / "model.onnx", eager_attention=True)
            model = ov.Core().read_model(str(onnx))
            feeds, _ = length_sorted_batches(tokenizer, calibration, settings.calibration_batch,
                                             {i.get_any_name() for i in model.inputs})
            with _quiet_nncf():
                quantized = nncf.quantize(
                    model, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER,
                    preset=(nncf.QuantizationPreset.MIXED if settings.preset == "mixed"
                            else nncf.QuantizationPreset.PERFORMANCE),
                    subset_size=len(feeds), fast_bias_correction=True)
            ov.save_model(quantized, str(tmp / "model.xml"))
            onnx.unlink()
            meta = {"source": str(folder), "settings": asdict(settings),
                    "calibration": {"file": str(CALIBRATION_FILE), "texts": len(calibration),
                                    "digest": _digest(calibration)},
                    "openvino": _version("openvino"), "nncf": _version("nncf"),
                    "seconds": round(time.perf_counter() - started, 1)}
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    except PipelineError:
        raise
    except Exception as exc:  # noqa: BLE001 - many causes, one message
        raise PipelineError(f"could not quantise {folder.name} with OpenVINO/NNCF "
                            f"({first_line(exc)}); "
                            "use --backend torch") from None
    log.info("int8 model ready in %.1fs", time.perf_counter() - started)
    return target


@contextlib.contextmanager
def _quiet_nncf():
    """NNCF's warnings only, and no progress bars (they print to stdout)."""
    nncf_logger = logging.getLogger("nncf")
    level = nncf_logger.level
    nncf_logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        nncf_logger.setLevel(level)


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
