"""The ``reduce`` step (``pipeline.fit.reduce``): one exact kNN graph, two UMAP fits (the
clustering space and the 2-D map), a seeded PCA below ten papers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.manifold import trustworthiness

from pipeline.config import ReduceConfig
from pipeline.fit.reduce import MIN_UMAP_POINTS, nearest_neighbors, reduce


def vectors(n: int = 300, seed: int = 0) -> np.ndarray:
    """Unit vectors in 16-D around six directions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, 16))
    points = centres[rng.integers(0, 6, n)] + 0.3 * rng.normal(size=(n, 16))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_nearest_neighbours_are_exact_and_start_with_the_point_itself():
    x = vectors(200)
    indices, dists = nearest_neighbors(x, n_neighbors=8, metric="cosine", chunk=37)
    brute = np.argsort(-(x @ x.T), axis=1, kind="stable")[:, :8]
    assert (indices[:, 0] == np.arange(len(x))).all() and np.allclose(dists[:, 0], 0)
    assert all(set(a[1:]) == set(b[1:]) for a, b in zip(indices, brute, strict=True))
    assert (np.diff(dists, axis=1) >= -1e-6).all()  # nearest first


def test_reduce_keeps_neighbourhoods_and_shapes():
    x = vectors()
    result = reduce(x, ReduceConfig(), random_state=1)
    assert result.cluster_space.shape == (len(x), 5) and result.coords.shape == (len(x), 2)
    assert result.cluster_space.dtype == np.float32 and np.isfinite(result.coords).all()
    assert trustworthiness(x, result.cluster_space, n_neighbors=10, metric="cosine") > 0.9
    assert trustworthiness(x, result.coords, n_neighbors=10, metric="cosine") > 0.85


def test_same_seed_same_reduction_other_seed_other_map():
    x = vectors(150, seed=2)
    a, b = reduce(x, ReduceConfig(), random_state=3), reduce(x, ReduceConfig(), random_state=3)
    c = reduce(x, ReduceConfig(), random_state=4)
    np.testing.assert_array_equal(a.coords, b.coords)
    assert not np.allclose(a.coords, c.coords)


def test_a_handful_of_papers_get_a_deterministic_pca():
    for n in (3, MIN_UMAP_POINTS - 1):
        x = vectors(n, seed=5)
        a, b = reduce(x, ReduceConfig()), reduce(x, ReduceConfig())
        np.testing.assert_array_equal(a.coords, b.coords)
        assert a.coords.shape == (n, 2) and np.isfinite(a.cluster_space).all()
        assert a.knn_indices is None


def test_cached_kernels_and_threads_give_umaps_own_layouts(monkeypatch):
    """The reduce step with umap's kernels compiled as umap compiles them (no cache, GIL held)
    and the two fits one after the other gives exactly what the cached, threaded step gives."""
    import numba
    import umap.layouts
    import umap.umap_

    from pipeline.fit import reduce as reduce_module
    from pipeline.fit import umap_kernels

    x = vectors(120, seed=7)
    config = ReduceConfig()
    threaded = reduce(x, config, random_state=5)
    assert umap_kernels.use_cached_kernels()
    for module_name, attribute, _ in umap_kernels.KERNELS:
        module = {"umap.umap_": umap.umap_, "umap.layouts": umap.layouts}[module_name]
        kernel = getattr(module, attribute)
        assert type(kernel._cache).__name__ != "NullCache"  # cached on disk
        monkeypatch.setattr(module, attribute, numba.njit(locals=dict(kernel.locals), **{
            k: v for k, v in kernel.targetoptions.items() if k not in ("nogil", "nopython")})(kernel.py_func))
    knn = nearest_neighbors(x, n_neighbors=config.neighbors_for(len(x)), metric=config.metric)
    common = {"n_neighbors": config.neighbors_for(len(x)), "metric": config.metric,
              "init": "spectral", "random_state": 5}
    space = reduce_module._fit_umap(x, knn, n_components=5, min_dist=config.cluster_min_dist,
                                    **common)
    coords = reduce_module._fit_umap(x, knn, n_components=2, min_dist=config.map_min_dist,
                                     **common)
    np.testing.assert_array_equal(threaded.cluster_space, space)
    np.testing.assert_array_equal(threaded.coords, coords)


@pytest.mark.slow
def test_reduce_runs_under_numbas_workqueue_threading_layer(tmp_path):
    """A machine with neither TBB nor OpenMP gets numba's workqueue layer, which aborts the
    process when two threads enter it: the two fits then run one after the other."""
    script = (
        "import numpy as np\n"
        "from pipeline.config import ReduceConfig\n"
        "from pipeline.fit.reduce import reduce\n"
        "v = np.random.default_rng(0).normal(size=(1500, 32)).astype(np.float32)\n"
        "print('shape', reduce(v, ReduceConfig()).coords.shape)\n")
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "shape (1500, 2)" in done.stdout
