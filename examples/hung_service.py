"""A service that hangs: a pool of idle workers, a queue consumer, and two threads in a deadlock.

Forty pool workers wait for tasks and a consumer waits on an empty queue: idle, not stuck.
Two request handlers take the same two locks in opposite orders and deadlock.  Run it under
snarl and the watchdog reports the deadlock (and only it) after a few seconds; from another
shell, ``snarl dump PID`` shows every thread with the lock owners:

    snarl run --stuck 2 --period 0.5 examples/hung_service.py
    snarl run --abort-on-deadlock examples/hung_service.py     # exits 70 once reported
"""

import os
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

accounts = threading.Lock()
ledger = threading.Lock()
both_hold = threading.Barrier(2)  # makes the deadlock certain instead of likely


def transfer() -> None:
    accounts.acquire()
    both_hold.wait()
    ledger.acquire()  # never returns: "audit" holds the ledger and wants the accounts


def audit() -> None:
    ledger.acquire()
    both_hold.wait()
    accounts.acquire()


def consume(jobs: "queue.Queue[str]") -> None:
    while True:
        jobs.get()


def main() -> None:
    pool = ThreadPoolExecutor(max_workers=40, thread_name_prefix="pool")
    gathered = threading.Barrier(40)  # 40 tasks at once: the pool starts all 40 workers
    for f in [pool.submit(gathered.wait) for _ in range(40)]:
        f.result()  # every worker has run once and now waits for work
    jobs: queue.Queue[str] = queue.Queue()
    threading.Thread(target=consume, args=(jobs,), name="consumer", daemon=True).start()
    handlers = [
        threading.Thread(target=transfer, name="transfer", daemon=True),
        threading.Thread(target=audit, name="audit", daemon=True),
    ]
    for t in handlers:
        t.start()
    print(f"pid {os.getpid()}: serving", file=sys.stderr, flush=True)
    for t in handlers:
        t.join()


if __name__ == "__main__":
    main()
