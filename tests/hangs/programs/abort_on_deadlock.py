"""An ABBA deadlock under a watchdog with abort: the process must end with the abort code.

Run:  python abort_on_deadlock.py [EXIT_CODE]   (no code: abort=True, the default code)
"""

import sys
import threading
import time

import snarl
from snarl.hangs import watch

lock_a = threading.Lock()
lock_b = threading.Lock()
both = threading.Barrier(2)


def worker(first: threading.Lock, second: threading.Lock) -> None:
    with first:
        both.wait()
        with second:  # @second
            pass


def main() -> None:
    code = int(sys.argv[1]) if len(sys.argv) > 1 else True
    ab = threading.Thread(target=worker, args=(lock_a, lock_b), name="AB", daemon=True)
    ba = threading.Thread(target=worker, args=(lock_b, lock_a), name="BA", daemon=True)
    ab.start()
    ba.start()
    snarl.wait_until_blocked(ab, ba, kinds={"lock"})
    watch(0.05, 10.0, abort=code, abort_on={"deadlock"})
    for _ in range(600):  # the watchdog ends the process long before this loop does
        time.sleep(0.05)
    print("the watchdog did not abort", file=sys.stderr)


if __name__ == "__main__":
    main()
