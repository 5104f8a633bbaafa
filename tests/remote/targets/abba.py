"""A target: two threads in an ABBA deadlock.  ``abba.py [--agent] [--tracked] [--bare]``

``--tracked`` installs snarl's tracked primitives before the locks exist, ``--bare`` takes
the locks with ``acquire()`` (only tracking knows their owners then), ``--agent`` starts the
agent.  It prints ``ready`` once both workers wait for their second lock, answers each ``ping``
line on stdin with ``pong``, and exits at the end of stdin.
"""

import sys
import threading

import snarl

if "--tracked" in sys.argv:
    snarl.install()

lock_a = threading.Lock()
lock_b = threading.Lock()
both_hold = threading.Barrier(2)
BARE = "--bare" in sys.argv


def worker_ab() -> None:
    if BARE:
        lock_a.acquire()
        both_hold.wait()
        lock_b.acquire()
    else:
        with lock_a:
            both_hold.wait()
            with lock_b:
                pass


def worker_ba() -> None:
    if BARE:
        lock_b.acquire()
        both_hold.wait()
        lock_a.acquire()
    else:
        with lock_b:
            both_hold.wait()
            with lock_a:
                pass


def main() -> None:
    workers = [
        threading.Thread(target=worker_ab, name="worker-AB", daemon=True),
        threading.Thread(target=worker_ba, name="worker-BA", daemon=True),
    ]
    for t in workers:
        t.start()
    snarl.wait_until_blocked(*workers, kinds={"lock"})
    if "--agent" in sys.argv:
        from snarl.remote import start_agent

        start_agent()
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "ping":
            print("pong", flush=True)


if __name__ == "__main__":
    main()
