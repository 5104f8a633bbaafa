"""A target whose main thread holds the GIL in C code.  ``stuck_gil.py SECONDS``

It prints ``ready``, then calls libc's ``sleep(SECONDS)`` through ``ctypes.PyDLL`` (which
keeps the GIL), then prints ``awake`` and exits with status 0.
"""

import ctypes
import sys
import threading

waiter = threading.Thread(target=threading.Event().wait, name="waiter", daemon=True)
waiter.start()
print("ready", flush=True)
ctypes.PyDLL(None).sleep(int(sys.argv[1]))
print("awake", flush=True)
