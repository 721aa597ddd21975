"""A literature review on a built map: trends, comparisons, similar papers, reading lists
and exports (the ``trends``, ``compare``, ``similar`` and ``reading-list`` commands and the
dashboard's pages).
"""
