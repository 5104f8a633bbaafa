"""``python -m snarl.remote PID [--json] [--locals] [--all] [--timeout S] [--method M]``."""

import sys

from .client import _main

sys.exit(_main())
