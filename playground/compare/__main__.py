"""`python -m playground.compare`: see playground.compare.cli."""

import sys

from playground.compare.cli import main

sys.exit(main())
