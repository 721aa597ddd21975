"""A sentence-transformers BERT model run with NumPy alone, for short phrases.

Names are judged with the map's own model (``pipeline.naming.phrase_model``). A build from
precomputed vectors has no model loaded, and loading PyTorch for a few hundred short
phrases cost more time and memory than the rest of the naming (4 s and 430 MiB at 1,000
papers). A BERT encoder with mean pooling (all-MiniLM-L6-v2, the bundled default) is a few
matrix products per layer: :class:`NumpyBert` reads its ``model.safetensors`` and
``tokenizer.json`` (the ``tokenizers`` library, no PyTorch) and gives the same vectors
(cosine 1.000 with sentence-transformers) in well under a second for a map's phrases.

:func:`numpy_bert_folder` says whether a model folder is such a model; anything else (other
architectures, other pooling) goes through the embedding backends as before.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "F16": np.float16}
#: Phrases are short; longer texts are cut (a name is never this long).
MAX_TOKENS = 64


def numpy_bert_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a BERT sentence encoder this module runs: BERT weights in
    safetensors, a fast tokenizer, and mean pooling."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
            and pooling.get("pooling_mode_mean_tokens") is True
            and not any(v for k, v in pooling.items() if k.startswith("pooling_mode")
                        and k != "pooling_mode_mean_tokens" and v is True))


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float tensors of a ``.safetensors`` file, as float32 (read-only).

    Float32 tensors are views of the file mapped into memory, not copies: only what the
    encoder touches is read (a few rows of the 47 MB word-embedding table for a list of
    short phrases), which makes loading the model a matter of milliseconds, not a second.
    """
    with open(path, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    out = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] not in _DTYPES:
            continue
        start, end = meta["data_offsets"]
        dtype = np.dtype(_DTYPES[meta["dtype"]]).newbyteorder("<")
        array = data[start:end].view(dtype).reshape(meta["shape"])
        out[name] = array if array.dtype == np.float32 and array.flags.aligned \
            else array.astype(np.float32)
    return out


def _layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * gain + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class NumpyBert:
    """A BERT sentence encoder (mean pooling, unit vectors) in NumPy: ``encode(texts)``."""

    def __init__(self, folder: Path | str) -> None:
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        weights = read_safetensors(folder / "model.safetensors")
        self.weights = {k.removeprefix("bert."): v for k, v in weights.items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.dimension = int(self.config["hidden_size"])

    def encode(self, texts: Sequence[str], *, batch_size: int = 128, **_) -> np.ndarray:
        """Unit vectors of ``texts`` (float32), in order; similar lengths batched together.
        One BLAS thread: the products are small, and on a busy machine more threads cost
        several times the time."""
        from threadpoolctl import threadpool_limits

        encoded = self.tokenizer.encode_batch([str(t) for t in texts])
        order = np.argsort([len(e.ids) for e in encoded], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with threadpool_limits(1):
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                out[rows] = self._forward([encoded[i].ids for i in rows])
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        w, cfg = self.weights, self.config
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, tokens in enumerate(batch):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1.0
        eps = float(cfg.get("layer_norm_eps", 1e-12))
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        n, hidden = len(batch), x.shape[-1]
        heads = int(cfg["num_attention_heads"])
        size = hidden // heads
        blocked = (1.0 - mask)[:, None, None, :] * -1e9
        for k in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{k}."

            def dense(t: np.ndarray, name: str, p: str = p) -> np.ndarray:
                flat = t.reshape(-1, t.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
                return flat.reshape(*t.shape[:-1], -1)

            q = dense(x, "attention.self.query").reshape(n, length, heads, size).transpose(0, 2, 1, 3)
            key = dense(x, "attention.self.key").reshape(n, length, heads, size).transpose(0, 2, 3, 1)
            v = dense(x, "attention.self.value").reshape(n, length, heads, size).transpose(0, 2, 1, 3)
            scores = np.matmul(q, key) / math.sqrt(size) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(n, length, hidden)
            x = _layer_norm(dense(attended, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], eps)
            x = _layer_norm(dense(_gelu(dense(x, "intermediate.dense")), "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
        return (x * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
