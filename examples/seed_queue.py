"""Python 2's classic Queue demonstration of the check interval, for Python 3.

Three threads each put their name on a Queue five times, with EXTRA empty loop iterations
before each put; the names are printed in the order they were put.  The program sets no
interval itself: give it one from the command line, and make it exactly reproducible with
``--deterministic`` (threads run one at a time, switched round-robin every N bytecodes):

    snarl run --check-interval 10 --deterministic examples/seed_queue.py 1000
    snarl run --check-interval 10 --deterministic --seed 3 examples/seed_queue.py 0
"""

import queue
import sys
import threading


def show_thread(q: "queue.Queue[str]", extra: int) -> None:
    for _ in range(5):
        for _ in range(extra):
            pass
        q.put(threading.current_thread().name)


def main() -> None:
    extra = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    q: queue.Queue[str] = queue.Queue()
    threads = [
        threading.Thread(target=show_thread, name=f"T{i}", args=(q, extra)) for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join(q.get_nowait() for _ in range(15)))


if __name__ == "__main__":
    main()
