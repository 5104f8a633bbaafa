"""``python -m snarl``: the same as the ``snarl`` command."""

import sys

from .cli import main

sys.exit(main())
