"""A target whose main thread holds the GIL in C code until the test lets it go.

It prints ``ready``, then calls libc's ``read(0, buf, 1)`` through ``ctypes.PyDLL`` (which
keeps the GIL) and so blocks, holding the GIL, until a byte arrives on its standard input;
then it prints ``awake`` and exits with status 0.  No timing: the GIL is held for exactly as
long as the test wants.  It then waits for a line on its input before it exits, so that the
test can look at its threads.
"""

import ctypes
import sys
import threading

waiter = threading.Thread(target=threading.Event().wait, name="waiter", daemon=True)
waiter.start()
print("ready", flush=True)
buf = ctypes.create_string_buffer(1)
ctypes.PyDLL(None).read(0, buf, 1)
print("awake", flush=True)
sys.stdin.readline()
