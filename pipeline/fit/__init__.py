"""The fit: the ``reduce``, ``cluster`` and ``layers`` steps, and placing new papers.

- ``reduce``       UMAP from one kNN graph: the clustering space and the 2-D map
- ``umap_kernels`` umap-learn's numba kernels, compiled once per machine
- ``cluster``      the finest layer: HDBSCAN, noise absorbed, clusters renumbered by size
- ``layers``       the broader layers over the finest one, nested
- ``stability``    bootstrap stability of every node
- ``placement``    new points into a saved fit (``update``, the Ray engine)
"""
