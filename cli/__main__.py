"""`python -m cli …`: the same as the `mukti` command (tests and `mukti up` start processes so)."""

import sys

from cli import main

sys.exit(main())
