"""``python -m latentlab`` (and ``torchrun -m latentlab``) runs the command line."""

import sys

from .cli import main

sys.exit(main())
