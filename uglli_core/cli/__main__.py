"""``python -m uglli_core.cli``: the ``uglli`` command (as ``torchrun -m`` needs it)."""
import sys

from .main import main

sys.exit(main())
