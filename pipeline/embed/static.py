"""A fast static embedder distilled locally from the transformer: ``--model fast``.

The transformer (all-MiniLM-L6-v2) runs at ~10 abstracts/s on two CPU cores;
a corpus of 100,000 papers would take hours. A *static* model instead keeps
one vector per vocabulary token and embeds a text as the mean of its tokens'
vectors: thousands of abstracts per second, at some cost in quality (measured
in docs/scale.md and README's "Which embedder when").

The vectors are distilled from the transformer itself, the way model2vec
(Tulkens & van Dongen, 2024) does it, re-implemented here in a few lines so
that no extra dependency is needed (model2vec's ``distill`` extra pins an
older ``transformers`` than this project uses):

1. every token of the model's vocabulary goes through the transformer alone,
   as ``[SEP] token [CLS]``, and the mean of the three output vectors is the
   token's vector (``[unused…]`` tokens are left out);
2. PCA to ``pca_dims`` dimensions (centres the vectors and keeps the
   directions that matter);
3. SIF weighting with Zipf-estimated frequencies: a WordPiece vocabulary is
   roughly ordered by frequency, so the token of rank ``r`` gets the weight
   ``a / (a + p_r)`` with ``p_r`` proportional to ``1 / r``, which damps
   frequent words.

Distillation reads only the local model folder (nothing is downloaded; the
Hugging Face libraries are put in offline mode), takes about a minute on two
CPU cores (seconds on a GPU, which it uses when present), and runs once: the
result is cached under ``<cache_dir>/static/<model>-<hash>/`` keyed by the
source weights and the settings, and written atomically.

Maps built this way record the model as ``fast:<source>`` (for example
``fast:all-MiniLM-L6-v2``); ``StaticEmbedder(that name)`` loads the same
vectors again for queries. The embedding cache key names the distillation
settings too, so static and transformer vectors never mix.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError, first_line
from pipeline.mapdir.atomic import atomic_folder

from .base import default_cache_dir, resolve_model, slug, transformer_folder, weights_digest

log = logging.getLogger(__name__)

#: ``--model`` values that select the static embedder over the default model.
FAST_ALIASES = {"fast", "static", "fast:default"}
PREFIX = "fast:"
#: Bump when the distillation procedure changes: old cached models are then not reused.
DISTILL_VERSION = 1
_UNUSED_TOKEN = re.compile(r"^\[unused\d+\]$")


@dataclass(frozen=True)
class DistillSettings:
    """What decides the distilled vectors (part of their cache key)."""

    pca_dims: int = 256
    sif_coefficient: float = 1e-4
    batch_size: int = 1024
    version: int = DISTILL_VERSION

    def key(self) -> str:
        return f"pca{self.pca_dims}-sif{self.sif_coefficient:g}-v{self.version}"


def is_fast_model(name: str | None) -> bool:
    """Whether a ``--model`` value (or a map's recorded model name) asks for the static embedder."""
    if not isinstance(name, str):
        return False
    value = name.strip().lower()
    return value in FAST_ALIASES or value.startswith(PREFIX)


def source_of(name: str) -> str:
    """The transformer a fast model is distilled from: ``fast`` -> the default model."""
    value = name.strip()
    if value.lower() in FAST_ALIASES:
        return "default"
    return value[len(PREFIX):].strip() or "default"


class StaticEmbedder:
    """Token-vector means from a model distilled (once, cached) from a local transformer."""

    backend = "static"
    #: Tokens of a text that count (None: all; the tuned model keeps the transformer's 254).
    max_tokens: int | None = None

    def __init__(self, model: str = "fast", *, cache_dir: Path | str | None = None,
                 settings: DistillSettings | None = None, device: str | None = None) -> None:
        self.model = model
        self.source = source_of(model)
        self.path, source_key = resolve_model(self.source)
        self.name = PREFIX + (source_key if self.source == "default" or
                              not Path(self.source).expanduser().exists() else self.path)
        self.settings = settings or DistillSettings()
        self.cache_root = Path(cache_dir) if cache_dir else default_cache_dir()
        self.device = device
        self._vectors: np.ndarray | None = None
        self._tokenizer = None
        self._unk_id: int | None = None
        self._digest: str | None = None

    # -- where things live

    def _folder(self) -> Path:
        return transformer_folder(
            self.path, f"--model fast distils a local transformer folder with config.json and "
            f"tokenizer.json; {self.source!r} is not one (nothing is downloaded). "
            "Use --model fast for the bundled model, or fast:PATH")

    def digest(self) -> str:
        if self._digest is None:
            self._digest = weights_digest(
                self._folder(), hint="; --model fast needs a local sentence-transformers folder "
                "(default: the bundled all-MiniLM-L6-v2)")
        return self._digest

    @property
    def cache_key(self) -> str:
        """Embedding-cache key: source model, its weights and the distillation settings."""
        return f"{self.name}@static-{self.settings.key()}-{self.digest()}"

    def model_dir(self) -> Path:
        """Where the distilled vectors and tokenizer are cached."""
        stem = slug(self.name.removeprefix(PREFIX))
        return self.cache_root / "static" / f"{stem}-{self.digest()}-{self.settings.key()}"

    # -- loading

    def _load(self) -> np.ndarray:
        if self._vectors is not None:
            return self._vectors
        from tokenizers import Tokenizer

        target = self.model_dir()
        if not (target / "vectors.npy").is_file():
            distill_to(self._folder(), target, self.settings, device=self.device)
        try:
            vectors = np.load(target / "vectors.npy", allow_pickle=False)
            tokenizer = Tokenizer.from_file(str(target / "tokenizer.json"))
            meta = json.loads((target / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            log.warning("cached static model %s is unusable (%s); distilling it again", target, exc)
            shutil.rmtree(target, ignore_errors=True)
            distill_to(self._folder(), target, self.settings, device=self.device)
            return self._load()
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        self._unk_id = meta.get("unk_id")
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return self._vectors

    @property
    def dimension(self) -> int:
        return int(self._load().shape[1])

    # -- encoding

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors: the mean token vector of each text.

        ``batch_size`` is accepted for the ``Embedder`` protocol; texts are
        tokenised (in parallel, by the Rust tokenizer) and pooled with one
        sparse matrix product per call.
        """
        from scipy import sparse

        vectors = self._load()
        texts = list(texts)
        if not texts:
            return np.zeros((0, vectors.shape[1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64)[:self.max_tokens] for e in encodings]
        if self._unk_id is not None:
            ids = [row[row != self._unk_id] for row in ids]
        lengths = np.array([len(row) for row in ids], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        indices = np.concatenate(ids) if lengths.sum() else np.zeros(0, dtype=np.int64)
        bag = sparse.csr_matrix((np.ones(len(indices), dtype=np.float32), indices, indptr),
                                shape=(len(texts), len(vectors)))
        pooled = np.asarray(bag @ vectors, dtype=np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.where(norms == 0, 1.0, norms)


# --------------------------------------------------------------------------- distillation


def distill_to(folder: Path, target: Path, settings: DistillSettings, *,
               device: str | None = None) -> Path:
    """Distil the transformer in ``folder`` into ``target`` (atomic: a temporary
    folder renamed into place, so a crash leaves nothing half-written)."""
    started = time.perf_counter()
    log.info("distilling a static model from %s (once; cached in %s)", folder.name, target)
    vectors, unk_id, kept = distill_vectors(folder, settings, device=device)
    with atomic_folder(target, ".static-") as tmp:
        np.save(tmp / "vectors.npy", vectors.astype(np.float32))
        shutil.copyfile(folder / "tokenizer.json", tmp / "tokenizer.json")
        meta = {"source": str(folder), "unk_id": unk_id, "tokens_kept": kept,
                "settings": asdict(settings), "seconds": round(time.perf_counter() - started, 1)}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
    log.info("static model ready in %.1fs", time.perf_counter() - started)
    return target


def distill_vectors(folder: Path, settings: DistillSettings, *, device: str | None = None,
                    ) -> tuple[np.ndarray, int | None, int]:
    """``(vectors (vocab, pca_dims), unk token id, tokens kept)`` for the model in ``folder``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    from .gpu import torch_device

    try:
        model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    except Exception as exc:  # noqa: BLE001 - many causes, one message
        raise PipelineError(f"cannot load {folder} to distil it "
                            f"({first_line(exc)})") from None
    device = device or torch_device()
    model = model.to(device)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    vocab = tokenizer.get_vocab()  # token -> id
    size = max(vocab.values()) + 1
    tokens = [""] * size
    for token, index in vocab.items():
        tokens[index] = token
    probe = tokenizer.encode("A").ids  # [CLS] a [SEP]: the model's own special tokens
    bos, eos = probe[0], probe[-1]
    keep = np.array([bool(t) and not _UNUSED_TOKEN.match(t) for t in tokens])
    ids = torch.arange(size)
    # model2vec found [SEP] token [CLS] (special tokens swapped) to work best.
    stacked = torch.stack([torch.full((size,), eos), ids, torch.full((size,), bos)], dim=1)
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, size, settings.batch_size):
            batch = stacked[start:start + settings.batch_size].to(device)
            inputs = {"input_ids": batch, "attention_mask": torch.ones_like(batch)}
            if getattr(model.config, "type_vocab_size", 0):
                inputs["token_type_ids"] = torch.zeros_like(batch)
            hidden = model(**inputs).last_hidden_state.float()
            out[start:start + len(batch)] = hidden.mean(dim=1).cpu().numpy()
    kept = out[keep]
    dims = min(settings.pca_dims, kept.shape[1], len(kept))
    reduced = _pca(kept.astype(np.float64), dims)
    # SIF weights from Zipf-estimated frequencies: rank r (1-based, vocabulary order) ~ 1/r.
    inv_rank = 1.0 / np.arange(2, len(reduced) + 2)
    proba = inv_rank / inv_rank.sum()
    reduced *= (settings.sif_coefficient / (settings.sif_coefficient + proba))[:, None]
    vectors = np.zeros((size, dims), dtype=np.float32)
    vectors[keep] = reduced
    unk = vocab.get("[UNK]")
    return vectors, unk, int(keep.sum())


def _pca(matrix: np.ndarray, dims: int) -> np.ndarray:
    """Centred projection on the top ``dims`` principal axes, signs fixed (deterministic)."""
    centred = matrix - matrix.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:dims]
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])
    signs[signs == 0] = 1
    return centred @ (vt * signs[:, None]).T
