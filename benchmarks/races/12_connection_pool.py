"""Threads take connections from a pool list after checking its size; the twin guards the pool
with a BoundedSemaphore used as a mutex."""

import os
import sys
import threading


class Pool:
    def __init__(self):
        self.free = ["c1", "c2", "c3"]
        self.guard = threading.BoundedSemaphore(1)

    def take(self, synced):
        if synced:
            self.guard.acquire()
            try:
                return self.free.pop() if len(self.free) > 0 else None
            finally:
                self.guard.release()
        return self.free.pop() if len(self.free) > 0 else None


def main(synced):
    pool = Pool()
    ts = [threading.Thread(target=pool.take, args=(synced,)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(pool.free)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
