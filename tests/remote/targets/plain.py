"""A target that never imports snarl.  It prints ``ready``, answers ``ping`` with ``pong`` and
``snarl?`` with whether snarl is imported now, and exits at the end of stdin."""

import sys

print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "ping":
        print("pong", flush=True)
    elif line.strip() == "snarl?":
        print(f"snarl imported: {'snarl' in sys.modules}", flush=True)
