"""``python -m pipeline.bench``: the benchmark's command line (options: ``--help``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
