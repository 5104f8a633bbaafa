"""Where is each thread stopped?  Python 2's classic sys._current_frames() example, anew.

Three threads run `block`.  The first finishes at once.  The second takes the module-level
Lock `blocker` and never releases it.  The third then waits for `blocker` forever.  Python 2
needed a dict from ident to Thread and printed only a function and a line; snarl names each
thread, says what it waits for and shows the waiting line.

Run:  python examples/seed_blocked.py [--json]
"""

import sys
import threading
import time

import snarl

# With --json only the dump goes to stdout: the example's own prints go to stderr.
CHATTER = sys.stderr if "--json" in sys.argv else sys.stdout

io_lock = threading.Lock()
blocker = threading.Lock()


def block(i: int) -> None:
    t = threading.current_thread()
    with io_lock:
        print(f"{t.name} with ident {t.ident} going to sleep", file=CHATTER)
    if i:
        blocker.acquire()  # acquired but never released
        time.sleep(3600)
    with io_lock:
        print(t.name, "finishing", file=CHATTER)


def main() -> None:
    threads = [threading.Thread(target=block, args=(i,), daemon=True) for i in range(3)]
    threads[0].start()
    threads[0].join()  # Thread-1 does not sleep: it is gone before the dump
    for t in threads[1:]:
        t.start()
        snarl.wait_until_blocked(t)  # the second sleeps holding blocker, the third waits for it
    with io_lock:
        snarl.dump(sys.stdout, format="json" if "--json" in sys.argv else "text")


if __name__ == "__main__":
    main()
