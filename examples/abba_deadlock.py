"""An ABBA deadlock: two threads take the same two locks in opposite orders.

`worker-AB` holds `lock_a` and wants `lock_b`; `worker-BA` holds `lock_b` and wants `lock_a`.
Neither program line mentions the other thread, yet the dump names the cycle: snarl reads the
`with` blocks each frame is inside, so it knows who holds what without any instrumentation.

Run:  python examples/abba_deadlock.py [--json]
"""

import sys
import threading

import snarl

# With --json only the dump goes to stdout: the example's own prints go to stderr.
CHATTER = sys.stderr if "--json" in sys.argv else sys.stdout

lock_a = threading.Lock()
lock_b = threading.Lock()
both_hold = threading.Barrier(2)  # makes the deadlock certain instead of likely


def worker_ab() -> None:
    with lock_a:
        both_hold.wait()
        with lock_b:
            print("worker-AB got both locks", file=CHATTER)


def worker_ba() -> None:
    with lock_b:
        both_hold.wait()
        with lock_a:
            print("worker-BA got both locks", file=CHATTER)


def main() -> None:
    threads = [
        threading.Thread(target=worker_ab, name="worker-AB", daemon=True),
        threading.Thread(target=worker_ba, name="worker-BA", daemon=True),
    ]
    for t in threads:
        t.start()
    snarl.wait_until_blocked(*threads, kinds={"lock"})  # past the barrier, stuck on the locks
    snarl.dump(sys.stdout, format="json" if "--json" in sys.argv else "text")


if __name__ == "__main__":
    main()
