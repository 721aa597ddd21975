"""Topic maps of research abstracts: embed, reduce, cluster, label, save.

Public API::

    from pipeline import BuildConfig, build, load_map
    topic_map = build(["papers.csv"], "maps/papers")
    topic_map = load_map("maps/papers")
"""

from pipeline.engines.recipe import build, map_papers
from pipeline.mapdir.store import SCHEMA_VERSION, TopicMap, list_maps, load_map

from .config import BuildConfig, ClusterConfig, EmbedConfig, IngestConfig, LabelConfig, ReduceConfig
from .errors import ConfigError, InputError, MapFormatError, PipelineError

__all__ = [
    "SCHEMA_VERSION", "BuildConfig", "ClusterConfig", "ConfigError", "EmbedConfig",
    "IngestConfig", "InputError", "LabelConfig", "MapFormatError", "PipelineError",
    "ReduceConfig", "TopicMap", "build", "list_maps", "load_map", "map_papers",
]
