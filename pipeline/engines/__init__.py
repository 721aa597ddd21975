"""How a map is made: one recipe, engines that change only how the fit runs.

- ``recipe``    ``build()``: ingest -> embed -> reduce -> cluster -> layers -> label -> save,
  one log line per step; the ``Engine`` protocol and the local engine
- ``ray``       ``--engine ray``: embeds on Ray actors, fits a sample, places the rest
- ``update``    new papers placed into a saved fit; ``--rebuild``
- ``fitted``    what a fit saves for ``update``
- ``assemble``  the documents and clusters tables and the manifest, for every engine
"""
