"""`python -m cli` is the `mukti` command."""

import sys

from cli import main

sys.exit(main())
