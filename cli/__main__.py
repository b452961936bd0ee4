"""`python -m cli`: how `mukti up` and the tests start the API and worker processes."""

import sys

from cli import main

sys.exit(main())
