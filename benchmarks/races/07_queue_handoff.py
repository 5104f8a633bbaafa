"""Jobs handed to a worker through a Queue; the racy producer keeps changing a job after put(),
the twin hands it off and only the receiver mutates it."""

import os
import queue
import sys
import threading


class Job:
    def __init__(self, n):
        self.n = n
        self.status = "new"


def worker(q):
    while True:
        job = q.get()
        if job is None:
            return
        job.status = "done"


def main(synced):
    q = queue.Queue()
    t = threading.Thread(target=worker, args=(q,))
    t.start()
    job = Job(1)
    q.put(job)
    if not synced:
        job.status = "queued"  # after the hand-off: the worker may be writing it
    q.put(None)
    t.join()
    print(job.status)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
