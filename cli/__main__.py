<<<<<<< HEAD
"""`python -m cli …`: the same as the `mukti` command (tests and `mukti up` start processes so)."""
=======
"""`python -m cli …` runs the `mukti` command (the tests and benchmarks start processes this way)."""
>>>>>>> main

import sys

from cli import main

sys.exit(main())
