"""One validated configuration for a build: a dataclass per step.

Dataclasses hold values only; ``BuildConfig.validate()`` checks everything in
one place and raises a ``ConfigError`` whose message says what was expected.
The config round-trips through JSON so that it can be saved in a map's
manifest and re-used by ``update``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass
class IngestConfig:
    """Which input columns hold what; ``None`` means detect by the usual names."""

    title_column: str | None = None
    abstract_column: str | None = None
    id_column: str | None = None
    year_column: str | None = None
    authors_column: str | None = None
    url_column: str | None = None
    min_abstract_chars: int = 20
    # arXiv inputs only (snapshot and Atom feed; rules in pipeline/ingest/readers/arxiv.py):
    arxiv_categories: list[str] = field(default_factory=list)  # e.g. ["cs.CL", "stat.ML"]
    arxiv_from: str | None = None  # inclusive ISO date prefix: "2020", "2020-05", "2020-05-17"
    arxiv_until: str | None = None


@dataclass
class EmbedConfig:
    """How abstracts become vectors."""

    model: str = DEFAULT_MODEL
    batch_size: int = 32
    embeddings_path: str | None = None  # precomputed .npy, row-aligned with the input
    use_cache: bool = True
    device: str | None = None  # None: CUDA when available, else CPU
    # How the model runs: a name in pipeline.embed.registry.BACKENDS, checked there (auto:
    # ov-int8 where OpenVINO runs on a CPU with VNNI, else torch).
    backend: str = "auto"


@dataclass
class ReduceConfig:
    """UMAP settings shared by the clustering space and the 2-D map."""

    n_neighbors: int | None = None  # None: 15, or 30 from LARGE_CORPUS papers on
    n_components: int = 5
    cluster_min_dist: float = 0.0
    map_min_dist: float = 0.1
    metric: str = "cosine"

    #: From this many papers on, the default neighbourhood is 30 rather than 15. On the
    #: 9,852-paper venue corpus 30 neighbours gave clusters that agree better and more stably
    #: with the venue fields (NMI 0.39-0.41 over seeds, against 0.33-0.37 with 15).
    LARGE_CORPUS = 2000

    def neighbors_for(self, n: int) -> int:
        """The UMAP neighbourhood for ``n`` papers (never more than n - 1)."""
        k = self.n_neighbors or (30 if n >= self.LARGE_CORPUS else 15)
        return max(1, min(k, n - 1))


@dataclass
class ClusterConfig:
    """The finest layer's HDBSCAN settings (``pipeline.fit.cluster``); ``None``: the defaults,
    0.35 * sqrt(n) papers (at least 3) and min_samples 5."""

    min_cluster_size: int | None = None
    min_samples: int | None = None
    selection_method: str = "leaf"  # "eom" selects fewer, larger clusters (can collapse)
    reassign_noise: bool = False


@dataclass
class LabelConfig:
    """How the nodes of every layer are named (and how many themes there are)."""

    n_terms: int = 10
    max_ngram: int = 3
    n_representatives: int = 5
    diversity: float = 0.3
    # Nodes of the broadest layer (pipeline.fit.layers); None: the largest jump in Ward merge
    # height between 4 and min(10, finest clusters / 2).
    n_themes: int | None = None


@dataclass
class BuildConfig:
    """Everything that decides what map a build produces."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    reduce: ReduceConfig = field(default_factory=ReduceConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    label: LabelConfig = field(default_factory=LabelConfig)
    seed: int = 42

    def validate(self) -> BuildConfig:
        """Check every value; raise ``ConfigError`` naming the first bad one."""
        _int_at_least("seed", self.seed, 0)
        _int_at_least("ingest.min_abstract_chars", self.ingest.min_abstract_chars, 0)
        _check_arxiv_filter(self.ingest)
        _int_at_least("embed.batch_size", self.embed.batch_size, 1)
        if not isinstance(self.embed.model, str) or not self.embed.model.strip():
            raise ConfigError("embed.model must be a model name or path, got an empty value")
        if not isinstance(self.embed.backend, str) or not self.embed.backend.strip():
            raise ConfigError("embed.backend must be a backend name, got an empty value")
        if self.reduce.n_neighbors is not None:
            _int_at_least("reduce.n_neighbors", self.reduce.n_neighbors, 2)
        _int_at_least("reduce.n_components", self.reduce.n_components, 2)
        for name in ("cluster_min_dist", "map_min_dist"):
            value = getattr(self.reduce, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"reduce.{name} must be a number from 0 to 1, got {value!r}")
        if self.reduce.metric not in {"cosine", "euclidean"}:
            raise ConfigError(
                f"reduce.metric must be 'cosine' or 'euclidean', got {self.reduce.metric!r}"
            )
        if self.cluster.min_cluster_size is not None:
            _int_at_least("cluster.min_cluster_size", self.cluster.min_cluster_size, 2)
        if self.cluster.min_samples is not None:
            _int_at_least("cluster.min_samples", self.cluster.min_samples, 1)
        if self.cluster.selection_method not in {"eom", "leaf"}:
            raise ConfigError(
                "cluster.selection_method must be 'eom' or 'leaf', "
                f"got {self.cluster.selection_method!r}"
            )
        _int_at_least("label.n_terms", self.label.n_terms, 1)
        _int_at_least("label.n_representatives", self.label.n_representatives, 1)
        if self.label.max_ngram not in (1, 2, 3, 4):
            raise ConfigError(f"label.max_ngram must be 1 to 4, got {self.label.max_ngram!r}")
        if not isinstance(self.label.diversity, (int, float)) or not 0 <= self.label.diversity <= 1:
            raise ConfigError(f"label.diversity must be from 0 to 1, got {self.label.diversity!r}")
        if self.label.n_themes is not None:
            _int_at_least("label.n_themes", self.label.n_themes, 1)
        return self

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every setting."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        """Rebuild a config saved by ``to_dict``; unknown keys are refused."""
        sections = {
            "ingest": IngestConfig,
            "embed": EmbedConfig,
            "reduce": ReduceConfig,
            "cluster": ClusterConfig,
            "label": LabelConfig,
        }
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in sections:
                known = {f.name for f in dataclasses.fields(sections[key])}
                unknown = set(value) - known
                if unknown:
                    raise ConfigError(f"unknown setting(s) in {key}: {', '.join(sorted(unknown))}")
                kwargs[key] = sections[key](**value)
            elif key == "seed":
                kwargs[key] = value
            else:
                raise ConfigError(f"unknown config section {key!r}")
        return cls(**kwargs)


def _int_at_least(name: str, value: object, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be a whole number >= {low}, got {value!r}")


_ISO_PREFIX = r"\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?"


def _check_arxiv_filter(ingest: IngestConfig) -> None:
    """arXiv category patterns are non-empty words; dates are ISO prefixes, from <= until."""
    import re

    categories = ingest.arxiv_categories
    if not isinstance(categories, list) or not all(
            isinstance(c, str) and re.fullmatch(r"[A-Za-z][\w.-]*", c.strip()) for c in categories):
        raise ConfigError(f"ingest.arxiv_categories must be arXiv categories such as 'cs.CL' or "
                          f"'cs', got {categories!r}")
    for name in ("arxiv_from", "arxiv_until"):
        value = getattr(ingest, name)
        if value is not None and not (isinstance(value, str) and re.fullmatch(_ISO_PREFIX, value)):
            raise ConfigError(f"ingest.{name} must be a date like 2020, 2020-05 or 2020-05-17, "
                              f"got {value!r}")
    low, high = ingest.arxiv_from, ingest.arxiv_until
    if low and high and low[:len(high)] > high:
        raise ConfigError(f"ingest.arxiv_from ({low}) is after ingest.arxiv_until ({high})")
