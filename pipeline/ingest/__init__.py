"""The ``ingest`` step: files of papers in, one clean table of papers out.

- ``readers/``  one module per format family and the ``READERS`` registry (suffix or
  sniffer -> reader); adding a format is a module and one registry line
- ``clean``     standardise columns, clean text, de-duplicate; :func:`read_papers`
"""
