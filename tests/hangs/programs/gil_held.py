"""A C call holds the GIL: the Python watchdog cannot run, faulthandler's timer must fire.

First the watchdog runs normally for several fallback timeouts (its re-arming must keep the
timer from firing); then ``usleep`` (1.5 s) from libc, called through ctypes.PyDLL (which keeps the
GIL), stops every Python thread, and only the C timer can say so.
"""

import ctypes
import sys
import time

from snarl.hangs import watch

TIMEOUT = 0.3


def main() -> None:
    wd = watch(0.05, 10.0, fallback=True, fallback_timeout=TIMEOUT)
    deadline = time.monotonic() + 30
    while wd.checks < 3 * TIMEOUT / wd.period:  # the timer is re-armed on every check
        assert time.monotonic() < deadline, "the watchdog made no checks"
        time.sleep(0.01)
    print("holding the GIL", file=sys.stderr, flush=True)
    ctypes.PyDLL(None).usleep(1_500_000)  # @gil
    print("released the GIL", file=sys.stderr, flush=True)
    wd.stop()


if __name__ == "__main__":
    main()
