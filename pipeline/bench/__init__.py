"""Speed and quality, measured: ``python -m pipeline.bench`` (``make bench``).

One run does, on papers drawn with a fixed seed from the venue corpus
(``../shared/data/cs_venues_balanced.csv.gz`` and its precomputed
all-MiniLM-L6-v2 vectors, row-aligned):

1. **Embedding backends** on the same sample (1,000 papers): each backend of
   ``pipeline.embed.registry`` embeds it, in interleaved rounds (every backend does a
   quarter, then the next quarter...) so that load from other processes on a
   shared machine hits all alike; papers per second, the ratio to torch
   float32, mean cosine and kNN@10 agreement with torch float32, and the NMI
   of the map built from each backend's vectors.
2. **Our build against BERTopic** for each size (``--sizes``, default 1,000 and
   10,000; a size beyond the corpus takes all of it): both cluster the same
   precomputed vectors, each side in a fresh child process (imports and
   numba's compiled-code cache loads counted, as a user pays them), in
   ``--rounds`` rounds (default 5 up to 2,000 papers, 3 above) of our build and then BERTopic's, with seeds
   seed, seed+1, ...; the ratios are taken pair by pair and the median pair is
   quoted. A warm-up run of each side (300 papers, not counted) fills numba's
   on-disk caches for both. Ours: ``pipeline.build`` (ingest, reduce, cluster,
   layers, name, save; also reported without the name step). BERTopic: its
   defaults (UMAP to 5-D, HDBSCAN with ``min_cluster_size=10``, c-TF-IDF) plus
   the 2-D reduction of ``visualize_documents`` (UMAP, 10 neighbours) and the
   figure. Both UMAPs get ``random_state`` for reproducibility. Per step: wall
   time and peak resident memory (Linux ``VmHWM``, reset before each step).
   Embedding per side is measured where the sample of the embedder table (1) is
   the size's papers: its backend's encoding time in the table (ours: the default
   backend; BERTopic's: sentence-transformers float32) plus loading it, timed in
   a fresh process (ours with its imports; BERTopic's without, as its start-up
   imports sentence-transformers already). At other sizes it is not measured and
   no figure includes it.
3. **Quality at matched granularity** (``pipeline.bench.matched``): each of our
   layers against BERTopic's topics reduced to as many with its own
   ``reduce_topics``, and BERTopic's own topics against our nearest layer;
   NMI and ARI against the ``label`` column, noise as a class and reassigned
   (``pipeline.bench.metrics``), the mean over the rounds.
4. **Incremental update** at each size: a map of all but 100 papers, then
   ``python -m pipeline update`` with those 100 into a fresh copy of it, against
   a full build of all of them (both command lines in child processes,
   precomputed vectors), in rounds.

5. **Topic quality per layer** on five corpora (the trending page, the 600
   sample, medical_abstracts, cs_venues_balanced, cs_venues_all with the fast
   model): clusters, noise, NMI/ARI, homogeneity, largest share, and the names'
   support, contrast and retrieval beside BERTopic's representation of the same
   nodes (``quality``; alone: ``python -m pipeline.bench quality``).

It writes BENCHMARKS.md (tables, machine, date, exact command) and a plot of
time per step. BERTopic, matplotlib and the ONNX packages are benchmark-only
dependencies (requirements-bench.txt).

Modules: ``cli`` (options and the run), ``embedders`` (the backend table, 1),
``sides`` (ours and BERTopic in child processes, and update: 2 and 4),
``matched`` (3),
``quality`` and ``quality_report`` (5 and its section of the report),
``report`` (BENCHMARKS.md and the plot), ``measure`` (time, memory, seeded
draws, the machine).
"""

from .cli import main, parse_args
from .embedders import embedder_table
from .measure import StepRecorder, draw, machine, peak_rss_mb, reset_peak_rss, run_in_child
from .report import plot, render
from .sides import bertopic_side, compare_size, our_side, update_bench

__all__ = ["StepRecorder", "bertopic_side", "compare_size", "draw", "embedder_table", "machine",
           "main", "our_side", "parse_args", "peak_rss_mb", "plot", "render", "reset_peak_rss",
           "run_in_child", "update_bench"]
