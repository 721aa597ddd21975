"""The command line, ``python -m pipeline COMMAND``.

- ``main``    the parser and the ``build``, ``update`` and ``info`` commands
- ``llm``     ``rename``: names written by a language model, and the ``--llm-*`` options
- ``review``  ``trends``, ``compare``, ``similar``, ``reading-list``
"""
