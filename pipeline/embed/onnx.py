"""The ONNX Runtime backends (``onnx``, ``onnx-int8``; see ``pipeline.embed.registry``).

They need the optional packages ``onnxruntime`` and ``onnx`` (pinned in
requirements-bench.txt and requirements-dev.txt). Their graphs are exported on
first use from the local weights with ``torch.onnx.export`` (and quantized with
``onnxruntime.quantization``, int8 weights, one scale per output channel), then
cached under ``<cache_dir>/onnx/<model>-<weights hash>/``; later runs load the
cached graph. Nothing is downloaded. The embedder tokenizes with the model's
own ``tokenizer.json``, sorts texts by length so each batch is padded only to
its longest member, and pools as the model's sentence-transformers config says
(mean or CLS).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError, first_line
from pipeline.mapdir.atomic import atomic_file

from .base import default_cache_dir, resolve_model, slug, transformer_folder, weights_digest

log = logging.getLogger(__name__)

ONNX_OPSET = 17
_NOT_A_MODEL = ("backend {} needs a local sentence-transformers folder with config.json and "
                "tokenizer.json; {!r} is not one. Pass --model with such a folder, or use "
                "--backend torch")


class OnnxEmbedder:
    """A sentence-transformers model run by ONNX Runtime on the CPU."""

    def __init__(self, model: str = "default", *, quantized: bool = True,
                 cache_dir: Path | str | None = None, device: str | None = None,
                 threads: int | None = None, sort_by_length: bool = True) -> None:
        del device  # ONNX Runtime runs on the CPU here
        self.model = model
        self.quantized = quantized
        self.backend = "onnx-int8" if quantized else "onnx"
        self.path, self.name = resolve_model(model)
        self.cache_key = f"{self.name}@{self.backend}"
        self.cache_root = Path(cache_dir) if cache_dir else default_cache_dir()
        self.threads = threads
        self.sort_by_length = sort_by_length
        self._session = None
        self._tokenizer = None
        self._pooling = "mean"
        self._dimension = 0

    # -- loading

    def _model_dir(self) -> Path:
        return transformer_folder(self.path, _NOT_A_MODEL.format(self.backend, self.model))

    def onnx_path(self) -> Path:
        """Where this model's graph is cached (exported on first use)."""
        folder = self._model_dir()
        key = f"{slug(self.name)}-{weights_digest(folder)}"
        stem = "model-int8" if self.quantized else "model"
        return self.cache_root / "onnx" / key / f"{stem}.onnx"

    def _load(self):
        if self._session is not None:
            return self._session
        try:
            import onnxruntime as ort
        except ImportError:
            raise PipelineError(
                f"backend {self.backend} needs the optional packages onnxruntime and onnx; run "
                "`pip install onnxruntime==1.32.0 onnx==1.23.2` or use --backend auto"
            ) from None
        folder = self._model_dir()
        tokenizer, self._pooling = model_tokenizer(folder)
        path = self.onnx_path()
        if not path.is_file():
            export_onnx(folder, path, quantized=self.quantized)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads or _available_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a corrupt cached graph: export again
            log.warning("cached ONNX graph %s is unusable (%s); exporting it again", path,
                        first_line(exc))
            path.unlink(missing_ok=True)
            export_onnx(folder, path, quantized=self.quantized)
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in session.get_inputs()}
        self._dimension = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        self._tokenizer, self._session = tokenizer, session
        return session

    @property
    def dimension(self) -> int:
        self._load()
        return self._dimension

    # -- encoding

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in the input order."""
        session = self._load()
        texts = list(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        feeds, rowsets = length_sorted_batches(self._tokenizer, texts, batch_size, self._inputs,
                                               sort=self.sort_by_length)
        for feed, rows in zip(feeds, rowsets, strict=True):
            out[rows] = pool(session.run(None, feed)[0], feed["attention_mask"], self._pooling)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


def model_tokenizer(folder: Path):
    """``(tokenizer, pooling)`` of a sentence-transformers folder: its ``tokenizer.json``,
    truncating at the model's ``max_seq_length``, no padding; pooling ``mean`` or ``cls``."""
    from tokenizers import Tokenizer

    max_length, pooling = _sentence_config(folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length)
    tokenizer.no_padding()
    return tokenizer, pooling


def length_sorted_batches(tokenizer, texts: Sequence[str], batch_size: int, inputs: set[str], *,
                          sort: bool = True,
                          ) -> tuple[list[dict[str, np.ndarray]], list[np.ndarray]]:
    """Model inputs for ``texts`` in batches (sorted by length, longest first, so that each is
    padded only to its longest member), and each batch's text rows."""
    encodings = tokenizer.encode_batch(list(texts))
    lengths = np.array([len(e.ids) for e in encodings])
    order = np.argsort(-lengths, kind="stable") if sort else np.arange(len(encodings))
    feeds, rowsets = [], []
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        width = int(lengths[rows].max())
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            ids[r, :lengths[i]] = encodings[i].ids
            mask[r, :lengths[i]] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        feeds.append(feed)
        rowsets.append(rows)
    return feeds, rowsets


def pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """One vector per row of a batch's last hidden state: the CLS token's, or the mean over
    the tokens the mask keeps."""
    if pooling == "cls":
        return hidden[:, 0, :]
    weights = mask[:, :, None].astype(np.float32)
    return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)


def _sentence_config(folder: Path) -> tuple[int, str]:
    """``(max tokens, pooling)`` from the model's sentence-transformers files."""
    max_length = 512
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        max_length = int(json.loads(config.read_text()).get("max_seq_length", max_length))
    positions = json.loads((folder / "config.json").read_text()).get("max_position_embeddings")
    if positions:
        max_length = min(max_length, int(positions))
    pooling = "mean"
    modules = folder / "modules.json"
    if modules.is_file():
        for module in json.loads(modules.read_text()):
            if module.get("type", "").endswith("Pooling"):
                pool_config = folder / module.get("path", "") / "config.json"
                if pool_config.is_file():
                    settings = json.loads(pool_config.read_text())
                    if settings.get("pooling_mode_cls_token"):
                        pooling = "cls"
                    elif not settings.get("pooling_mode_mean_tokens", True):
                        raise PipelineError(
                            f"{folder}: pooling {settings} is not supported by the ONNX backends;"
                            " use --backend torch"
                        )
    return max_length, pooling


def _available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def export_onnx(folder: Path, target: Path, *, quantized: bool) -> Path:
    """Export the transformer in ``folder`` to ONNX at ``target`` (int8 if ``quantized``).

    The float32 graph is written beside it as ``model.onnx`` (the int8 one is
    quantized from it). Files appear atomically, so a crash leaves no half
    graph behind.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.parent / "model.onnx"
    if not fp32.is_file():
        log.info("exporting %s to ONNX (once; cached in %s)", folder.name, fp32.parent)
        _atomic(fp32, lambda tmp: _export_fp32(folder, tmp))
    if quantized and not target.is_file():
        log.info("quantizing the ONNX graph to int8 (once)")
        _atomic(target, lambda tmp: _quantize(fp32, tmp))
    return target


def _atomic(target: Path, write) -> None:
    try:
        with atomic_file(target, suffix=".onnx.tmp") as tmp:
            write(tmp)
    except BaseException as exc:
        if isinstance(exc, Exception) and not isinstance(exc, PipelineError):
            raise PipelineError(
                f"could not prepare the ONNX graph of {target.parent.name} "
                f"({first_line(exc)}); "
                "use --backend torch"
            ) from None
        raise


def export_fp32_graph(folder: Path, path: Path, *, eager_attention: bool = False) -> Path:
    """The float32 ONNX graph of the transformer in ``folder`` at ``path`` (inputs
    ``input_ids``, ``attention_mask``, ``token_type_ids``; output ``last_hidden_state``;
    batch and token axes dynamic). ``eager_attention`` exports attention as plain
    MatMul/Softmax ops, the pattern OpenVINO fuses (``pipeline.embed.openvino``)."""
    _export_fp32(folder, path, eager_attention=eager_attention)
    return path


def _export_fp32(folder: Path, path: Path, *, eager_attention: bool = False) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    extra = {"attn_implementation": "eager"} if eager_attention else {}
    model = AutoModel.from_pretrained(str(folder), local_files_only=True, **extra).eval()

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.long) for _ in names)
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(None):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHidden(model), example, str(path), dynamo=False, opset_version=ONNX_OPSET,
            input_names=names, output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
        )


def _quantize(source: Path, path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger().disabled, was = True, logging.getLogger().disabled
        try:
            quantize_dynamic(str(source), str(path), per_channel=True,
                             weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().disabled = was
