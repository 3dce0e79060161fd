"""`python -m playground.failures`: see playground.failures.cli."""

import sys

from playground.failures.cli import main

sys.exit(main())
