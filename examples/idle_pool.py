"""A pool of 200 worker threads, all idle on an empty Queue.

py-spy prints 201 stacks here; snarl prints one group: 200 threads IDLE in `jobs.get`.

Run:  python examples/idle_pool.py [--json] [--all]
"""

import queue
import sys
import threading

import snarl

jobs: queue.Queue = queue.Queue()


def work() -> None:
    while True:
        item = jobs.get()
        if item is None:
            return
        jobs.task_done()


def main() -> None:
    pool = [threading.Thread(target=work, name=f"pool-{i}", daemon=True) for i in range(1, 201)]
    for t in pool:
        t.start()
    snarl.wait_until_blocked(*pool)
    snarl.dump(
        sys.stdout,
        format="json" if "--json" in sys.argv else "text",
        group="--all" not in sys.argv,
    )


if __name__ == "__main__":
    main()
