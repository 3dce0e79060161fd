"""`python -m playground.train`: see playground.train.cli."""

import sys

from playground.train.cli import main

sys.exit(main())
