"""Fork while a watchdog runs; the child ends normally (``sys.exit``, so atexit and finalization
run).  Prints ``child <exit status>`` or ``child hung`` (killed after a deadline).

argv[1]: ``watch`` to start ``snarl.watch(fallback=True)`` here (else ``snarl run`` runs it);
argv[2]: what the child then does: ``exit``, or ``watch`` (its own watchdog, then exit).
"""

import os
import signal
import sys
import threading
import time

import snarl

if sys.argv[1] == "watch":
    wd = snarl.watch(0.02, 10.0, fallback=True, fallback_timeout=5.0)
else:
    [wd] = [w for w in __import__("gc").get_objects() if isinstance(w, snarl.Watchdog)]
deadline = time.monotonic() + 30
while wd.checks < 5 and time.monotonic() < deadline:  # many re-arms of the timer: a race
    time.sleep(0.01)

pid = os.fork()
if pid == 0:
    alive = [t.name for t in threading.enumerate() if t.name.startswith("snarl-watchdog")]
    print(f"in child: watchdog threads {alive}, running={wd.running}", flush=True)
    wd.stop()  # returns at once in the child
    if sys.argv[2] == "watch":
        own = snarl.watch(0.02, 10.0, fallback=True)
        while own.checks < 3:
            time.sleep(0.01)
        print(f"own watchdog checks {own.checks >= 3}", flush=True)
        own.stop()
    sys.exit(0)
deadline = time.monotonic() + 20
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print(f"child {os.waitstatus_to_exitcode(status)}", flush=True)
        break
    if time.monotonic() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print("child hung", flush=True)
        break
    time.sleep(0.01)
print(f"parent watchdog running={wd.running} armed={wd.fallback_armed}", flush=True)
