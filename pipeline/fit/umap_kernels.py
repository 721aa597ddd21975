"""umap-learn's compiled kernels, compiled once per machine instead of once per process.

umap-learn compiles three numba kernels of every fit without ``cache=True``: the
two of its fuzzy simplicial set (``smooth_knn_dist``, ``compute_membership_strengths``)
and the one epoch of its layout optimiser. Compiling them took ~6 of the ~10 CPU
seconds of the ``reduce`` step at 1,000 papers, in every build. :func:`use_cached_kernels`
puts in their place the same Python functions compiled with the same options plus
``cache=True`` (numba keeps the machine code on disk, beside umap's own, and checks it
against umap's source), and ``nogil=True`` for the layout epoch so that the clustering
space and the 2-D map can be optimised in two threads (``pipeline.fit.reduce``).
Neither option changes the generated code: the layouts are bit for bit the same.

A umap-learn whose kernels are not where this expects them, or a machine where numba
finds nowhere to write its cache, is left as it is.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

#: (module, attribute, extra options) of each kernel replaced.
KERNELS = (
    ("umap.umap_", "smooth_knn_dist", {}),
    ("umap.umap_", "compute_membership_strengths", {}),
    ("umap.layouts", "_nb_optimize_layout_euclidean_single_epoch", {"nogil": True}),
)
_lock = threading.Lock()
_done: list[bool] = []


def use_cached_kernels() -> bool:
    """Replace umap-learn's uncached kernels by cached copies (once per process).

    Returns whether all of them are now the cached copies.
    """
    with _lock:
        if _done:
            return _done[0]
        import importlib

        import numba

        replaced = 0
        for module_name, attribute, extra in KERNELS:
            module = importlib.import_module(module_name)
            kernel = getattr(module, attribute, None)
            if not all(hasattr(kernel, a) for a in ("py_func", "targetoptions", "locals")):
                log.debug("umap kernel %s.%s not found: left as it is", module_name, attribute)
                continue
            options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}
            options.update(extra)
            try:
                cached = numba.njit(cache=True, locals=dict(kernel.locals),
                                    **options)(kernel.py_func)
            except RuntimeError as exc:  # nowhere to write the cache: compile as before
                log.debug("umap kernel %s not cached (%s)", attribute, exc)
                continue
            setattr(module, attribute, cached)
            replaced += 1
        _done.append(replaced == len(KERNELS))
        return _done[0]


def threads_may_share_numba() -> bool:
    """Whether two threads may run numba's parallel kernels at once: numba's ``tbb`` and
    ``omp`` threading layers allow it, ``workqueue`` (a machine with neither TBB nor
    OpenMP, e.g. a slim container) aborts the process. Unknown: no."""
    try:
        import numba
        from numba.np.ufunc import parallel

        parallel._launch_threads()  # the layer is chosen when numba first starts its threads
        return numba.threading_layer() in ("tbb", "omp")
    except Exception:  # noqa: BLE001 - numba's internals moved: run one fit at a time
        return False
