"""``--model fast``: the static model, tuned on the transformer's vectors of a sample
of the user's own corpus (the tokenlearn method, re-implemented with torch).

The distilled static model (``pipeline.embed.static``) shares only about a third
of the transformer's ten nearest neighbours. Tuning it on the corpus at hand,
as tokenlearn (MinishLab) does, brings that to about a half at the same speed:

1. **sample**: ``sample_size`` papers of the corpus (4,000 by default, all of a
   smaller corpus), picked by a seeded hash of their text, so the pick does not
   depend on the papers' order;
2. **teacher**: the transformer embeds them with the build's backend (``auto``:
   ov-int8 where it runs), through the embedding cache, so they are embedded once
   and a later default-model build of the corpus reuses them;
3. **train**: the student is the distilled table (trainable), a per-token weight
   (initialised to the vectors' norms) and a linear head to the transformer's
   384 dimensions (initialised by least squares); a text is the weighted mean of
   its first 254 tokens (what the transformer sees) through the head; loss
   1 - cosine to the teacher's vector; AdamW (head and weights 1e-2, table 1e-3);
   10% of the sample held out for early stopping (patience 4);
4. **fold**: the head is folded into the table (``mean(w E) W^T + b ==
   mean(w E W^T + b)``), so the result is again a plain static table, in the
   transformer's space.

Training is deterministic for a seed on a machine (seeded sampling and batch
order, fixed thread count): the same corpus gives the same table and the same map.
The table is cached under ``<cache_dir>/static-tuned/<model>-<key>/`` (written
atomically), keyed by the sample's text hashes, the seed and settings, the base
table and the teacher; a map built with it records ``static-tuned:<key>`` as its
backend, and the dashboard's search embeds queries with the same table
(``pipeline.embed.registry.embedder_for_map``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import PipelineError
from pipeline.mapdir.atomic import atomic_folder

from .base import slug, text_key
from .static import StaticEmbedder

log = logging.getLogger(__name__)

BACKEND = "static-tuned"
#: Bump when the tuning procedure changes: cached tables are then not reused.
TUNE_VERSION = 1


@dataclass(frozen=True)
class TuneSettings:
    """What decides the tuned table (part of its cache key)."""

    sample_size: int = 4000
    seed: int = 0
    max_tokens: int = 254          # content tokens the teacher sees (max_seq_length 256 - 2)
    lr: float = 1e-2               # head and per-token weights
    table_lr: float = 1e-3
    batch_size: int = 128
    max_epochs: int = 60
    patience: int = 4
    val_share: float = 0.1
    threads: int = 2               # fixed, so that the sums come out the same on any machine
    version: int = TUNE_VERSION

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


def pick_sample(texts: Sequence[str], size: int, seed: int) -> list[str]:
    """``size`` distinct non-empty texts, the ones with the smallest seeded hash (all of
    them when there are fewer), in hash order: independent of the texts' order."""
    salt = seed.to_bytes(8, "little", signed=True)
    ranked = sorted({hashlib.blake2b(salt + t.encode("utf-8"), digest_size=16).digest(): t
                     for t in texts if t.strip()}.items())
    return [t for _, t in ranked[:size]]


def sample_key(sample: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in sample:
        digest.update(text_key(text))
    return digest.hexdigest()[:12]


class TunedStaticEmbedder(StaticEmbedder):
    """The static model tuned on a corpus sample: call :meth:`prepare` with the corpus
    (``embed.embed_texts`` does) or pass the ``key`` of a tuned table (a map's)."""

    def __init__(self, model: str = "fast", *, cache_dir: Path | str | None = None,
                 device: str | None = None, settings: TuneSettings | None = None,
                 teacher: Callable[[], object] | None = None,
                 teacher_vectors: Callable[[object, list[str]], np.ndarray] | None = None,
                 key: str | None = None) -> None:
        super().__init__(model, cache_dir=cache_dir, device=device)
        self.tune_settings = settings or TuneSettings()
        self.max_tokens = self.tune_settings.max_tokens
        self._teacher, self._teacher_vectors = teacher, teacher_vectors
        self.key = key
        self.info: dict = {}  # what the last prepare did (seconds, sample size, epochs)

    # -- identity

    @property
    def backend(self) -> str:  # type: ignore[override]
        return f"{BACKEND}:{self.key}" if self.key else BACKEND

    @property
    def cache_key(self) -> str:  # type: ignore[override]
        return f"{self.name}@{self.backend}"

    def tuned_dir(self, key: str | None = None) -> Path:
        stem = slug(self.name.removeprefix("fast:"))
        return self.cache_root / "static-tuned" / f"{stem}-{key or self.key}"

    def ready(self) -> bool:
        """Whether the tuned table this embedder names is cached."""
        return bool(self.key) and (self.tuned_dir() / "vectors.npy").is_file()

    # -- tuning

    def prepare(self, texts: Sequence[str]) -> str:
        """Tune on a sample of ``texts`` (or load the table already tuned on it); the key."""
        if self.key:  # tuned already, or a map's table: never tuned again on other papers
            return self.key
        started = time.perf_counter()
        sample = pick_sample(texts, self.tune_settings.sample_size, self.tune_settings.seed)
        if not sample:
            raise PipelineError("--model fast tunes on the corpus's texts, and they are empty")
        teacher = self._make_teacher()
        key = "-".join([sample_key(sample), self.tune_settings.key(),
                        hashlib.sha256(f"{self.cache_key_base()}|{_key_of(teacher)}".encode())
                        .hexdigest()[:8]])
        target = self.tuned_dir(key)
        if not (target / "vectors.npy").is_file():
            log.info("tuning the fast model on %d papers of this corpus (once; cached in %s)",
                     len(sample), target)
            t0 = time.perf_counter()
            targets = self._teacher_vectors(teacher, sample) if self._teacher_vectors \
                else teacher.encode(sample)
            embed_s = time.perf_counter() - t0
            base = StaticEmbedder(self.model, cache_dir=self.cache_root, device=self.device)
            base._load()
            vectors, info = tune(sample, targets, base, self.tune_settings)
            info.update({"teacher": _key_of(teacher), "sample": len(sample),
                         "teacher_seconds": round(embed_s, 1)})
            save_table(target, vectors, base, info)
            log.info("    fast model tuned: sample embedded in %.0fs, trained in %.0fs "
                     "(%d epochs), held-out cosine %.3f", embed_s, info["seconds"],
                     info["epochs"], info["val_cos"][info["best_epoch"]])
            self.info = {**info, "prepare_seconds": time.perf_counter() - started}
        else:
            self.info = {"cached": True, "prepare_seconds": time.perf_counter() - started}
        self.key, self._vectors = key, None
        self._load()
        return key

    def cache_key_base(self) -> str:
        """The untuned table's identity (source weights and distillation settings)."""
        return super().cache_key

    def _make_teacher(self):
        if self._teacher is None:
            raise PipelineError("the corpus-tuned fast model needs a teacher (the transformer)")
        return self._teacher()

    # -- loading

    def _load(self) -> np.ndarray:
        if self._vectors is not None:
            return self._vectors
        if not self.key:
            raise PipelineError(
                "--model fast is tuned on the corpus before it embeds (`build` does that); "
                "this engine embeds without preparing it (the Ray engine cannot yet): "
                "build with the local engine, or use the transformer")
        from tokenizers import Tokenizer

        folder = self.tuned_dir()
        try:
            vectors = np.load(folder / "vectors.npy", allow_pickle=False)
            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise PipelineError(f"the tuned fast model {folder} is missing or unreadable "
                                f"({exc}); build the map again") from None
        tokenizer.no_truncation()
        tokenizer.no_padding()
        self._tokenizer, self._unk_id = tokenizer, meta.get("unk_id")
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        return self._vectors


def _key_of(embedder) -> str:
    key = getattr(embedder, "cache_key", None)
    return str(key or f"{embedder.name}@{getattr(embedder, 'backend', '')}")


def save_table(target: Path, vectors: np.ndarray, base: StaticEmbedder, info: dict) -> None:
    """Write the tuned table atomically (temporary folder renamed into place)."""
    with atomic_folder(target, ".tuned-") as tmp:
        np.save(tmp / "vectors.npy", vectors.astype(np.float32))
        shutil.copyfile(base.model_dir() / "tokenizer.json", tmp / "tokenizer.json")
        (tmp / "meta.json").write_text(json.dumps({"unk_id": base._unk_id, **info}, indent=1,
                                                  default=str))


# --------------------------------------------------------------------------- training


def token_ids(tokenizer, texts: Sequence[str], max_tokens: int | None,
              unk_id: int | None) -> list[np.ndarray]:
    """Token ids of each text (no special tokens), cut to ``max_tokens``, unknowns dropped."""
    rows = []
    for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False):
        ids = np.asarray(encoding.ids, dtype=np.int64)[:max_tokens or None]
        rows.append(ids[ids != unk_id] if unk_id is not None else ids)
    return rows


def tune(texts: Sequence[str], targets: np.ndarray, base: StaticEmbedder,
         settings: TuneSettings) -> tuple[np.ndarray, dict]:
    """Train the student on ``targets``; ``(table vocab x target dims, info)``."""
    import torch
    import torch.nn.functional as F

    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    try:
        torch.manual_seed(settings.seed)
        rng = np.random.default_rng(settings.seed)
        init = np.asarray(base._vectors, dtype=np.float32)
        ids = token_ids(base._tokenizer, texts, settings.max_tokens, base._unk_id)
        y = F.normalize(torch.from_numpy(np.asarray(targets, dtype=np.float32)), dim=1)
        perm = rng.permutation(len(ids))
        n_val = max(1, int(len(ids) * settings.val_share)) if len(ids) > 1 else 0
        val, train = perm[:n_val], perm[n_val:]
        norms = np.linalg.norm(init, axis=1)
        unit = init / np.where(norms == 0, 1, norms)[:, None]
        table = torch.nn.Parameter(torch.from_numpy(unit.copy()))
        weight = torch.nn.Parameter(torch.from_numpy(norms.astype(np.float32)))
        head = torch.nn.Linear(init.shape[1], y.shape[1])
        with torch.no_grad():  # the head starts at the (ridge) least-squares map from the
            # untuned means: solved in float64 by numpy, deterministic even when the sample
            # is smaller than the table's width (torch's lstsq is not, there)
            x0 = _pool(table, weight, ids, train).numpy().astype(np.float64)
            x0 = np.hstack([x0, np.ones((len(x0), 1))])
            gram = x0.T @ x0 + 1e-6 * np.trace(x0.T @ x0) / len(x0.T) * np.eye(len(x0.T))
            solution = np.linalg.solve(gram, x0.T @ y[train].numpy().astype(np.float64))
            head.weight.copy_(torch.from_numpy(solution[:-1].T.astype(np.float32)))
            head.bias.copy_(torch.from_numpy(solution[-1].astype(np.float32)))
        optimiser = torch.optim.AdamW(
            [{"params": [head.weight, head.bias, weight], "lr": settings.lr},
             {"params": [table], "lr": settings.table_lr}], weight_decay=0.0)
        best, best_state, bad, history = -np.inf, None, 0, []
        for epoch in range(settings.max_epochs):
            order = rng.permutation(train)
            for start in range(0, len(order), settings.batch_size):
                batch = order[start:start + settings.batch_size]
                if len(batch) < 2:
                    continue
                optimiser.zero_grad()
                pred = F.normalize(head(_pool(table, weight, ids, batch)), dim=1)
                (1 - (pred * y[batch]).sum(1)).mean().backward()
                optimiser.step()
            rows = val if len(val) else train
            with torch.no_grad():
                pred = F.normalize(head(_pool(table, weight, ids, rows)), dim=1)
                score = float((pred * y[rows]).sum(1).mean())
            history.append(round(score, 4))
            if score > best + 1e-4 or best_state is None:
                best, bad = score, 0
                best_state = (table.detach().clone(), weight.detach().clone(),
                              head.weight.detach().clone(), head.bias.detach().clone(), epoch)
            else:
                bad += 1
                if bad >= settings.patience:
                    break
        table_, weight_, w_, b_, best_epoch = best_state
        with torch.no_grad():
            vectors = (weight_[:, None] * table_) @ w_.T + b_
            vectors[torch.from_numpy(norms == 0)] = 0.0  # tokens the base model left out
    finally:
        torch.set_num_threads(threads)
    info = {"seconds": round(time.perf_counter() - started, 1), "epochs": len(history),
            "best_epoch": best_epoch, "val_cos": history, "n_train": len(train),
            "n_val": len(val), "settings": asdict(settings)}
    return vectors.numpy().astype(np.float32), info


def _pool(table, weight, ids: list[np.ndarray], rows):
    """Weighted token means of ``rows`` (one bag per text) as a (len(rows), dims) tensor."""
    import torch
    import torch.nn.functional as F

    seqs = [ids[i] for i in rows]
    lengths = np.array([len(x) for x in seqs])
    flat = torch.from_numpy(np.concatenate(seqs) if lengths.sum() else np.zeros(0, np.int64))
    offsets = torch.from_numpy(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
    per = weight[flat] / torch.from_numpy(
        np.repeat(np.maximum(lengths, 1), lengths).astype(np.float32))
    return F.embedding_bag(flat, table, offsets, mode="sum", per_sample_weights=per)
