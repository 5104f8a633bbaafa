"""A target that never imports snarl.  ``plain.py [--threading]``

It imports threading only with ``--threading``, prints ``ready``, answers ``ping`` with
``pong``, ``snarl?`` and ``threading?`` with whether that module is imported now, and exits
at the end of stdin.
"""

import sys

if "--threading" in sys.argv:
    import threading  # noqa: F401

print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "ping":
        print("pong", flush=True)
    elif line.strip() == "snarl?":
        print(f"snarl imported: {'snarl' in sys.modules}", flush=True)
    elif line.strip() == "threading?":  # site's .pth files may have imported it
        print(f"threading imported: {'threading' in sys.modules}", flush=True)
