"""A lost wakeup: a consumer waits on a Condition that nobody will ever notify.

The producer appends its item but forgets `ready.notify()`.  The consumer checked the list
before the append and went to sleep in `ready.wait()`, so it waits forever.

Run:  python examples/condition_no_notify.py [--json]
"""

import sys
import threading

import snarl

# With --json only the dump goes to stdout: the example's own prints go to stderr.
CHATTER = sys.stderr if "--json" in sys.argv else sys.stdout

ready = threading.Condition()
items: list[str] = []


def consumer() -> None:
    with ready:
        while not items:
            ready.wait()
        print("consumed", items.pop(), file=CHATTER)


def producer() -> None:
    with ready:
        items.append("job-1")
        # bug: no ready.notify() here


def main() -> None:
    c = threading.Thread(target=consumer, name="consumer", daemon=True)
    c.start()
    snarl.wait_until_blocked(c)  # the consumer is inside ready.wait() before the producer runs
    p = threading.Thread(target=producer, name="producer")
    p.start()
    p.join()
    snarl.dump(sys.stdout, format="json" if "--json" in sys.argv else "text")


if __name__ == "__main__":
    main()
