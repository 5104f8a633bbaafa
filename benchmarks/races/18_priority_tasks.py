"""A worker runs prioritised tasks and the main thread reads their status; the racy main
reads the task object directly, the twin gets results back through a PriorityQueue and a
LifoQueue."""

import os
import queue
import sys
import threading


class Task:
    def __init__(self, name):
        self.name = name
        self.state = "pending"


def worker(inbox, outbox):
    while True:
        _prio, task = inbox.get()
        if task is None:
            return
        task.state = "finished"
        outbox.put(task.name)


def main(synced):
    inbox, outbox = queue.PriorityQueue(), queue.LifoQueue()
    t = threading.Thread(target=worker, args=(inbox, outbox))
    t.start()
    task = Task("backup")
    inbox.put((1, task))
    if synced:
        print(outbox.get(), task.state)
    else:
        print(task.state)
    inbox.put((9, None))
    t.join()


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
