"""`python -m playground.metrics`: see playground.metrics.cli."""

import sys

from playground.metrics.cli import main

sys.exit(main())
