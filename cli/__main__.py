"""`python -m cli …` runs the `mukti` command (the tests and benchmarks start processes this way)."""

import sys

from cli import main

sys.exit(main())
