"""The main thread deadlocked with a worker; the test sends SIGUSR1, then SIGUSR2.

argv[1] is the file both dumps go to.  A monitor thread prints "ready" once both threads
wait for their locks, and "dumped N" after each snarl dump, so the test never guesses.
"""

import sys
import threading
import time

import snarl
from snarl.hangs import install_signal_dump

lock_a = threading.Lock()
lock_b = threading.Lock()
worker_holds_b = threading.Event()


def worker() -> None:
    with lock_b:
        worker_holds_b.set()
        with lock_a:  # @worker-waits
            pass


def monitor(main_thread: threading.Thread, other: threading.Thread, handle) -> None:
    snarl.wait_until_blocked(main_thread, other, kinds={"lock"}, timeout=30)
    print("ready", flush=True)
    seen = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if handle.dumps != seen:
            seen = handle.dumps
            print(f"dumped {seen}", flush=True)
        time.sleep(0.005)


def main() -> None:
    handle = install_signal_dump(file=sys.argv[1])
    with lock_a:
        t = threading.Thread(target=worker, name="worker", daemon=True)
        t.start()
        worker_holds_b.wait()
        threading.Thread(
            target=monitor, args=(threading.main_thread(), t, handle), name="monitor", daemon=True
        ).start()
        with lock_b:  # @main-waits
            pass


if __name__ == "__main__":
    main()
