"""A logger thread collects lines; the racy main appends to its list and counts them, the twin
hands each line over a SimpleQueue."""

import os
import queue
import sys
import threading


class Collector:
    def __init__(self):
        self.lines = []
        self.inbox = queue.SimpleQueue()

    def run(self, synced, n):
        if synced:
            for _ in range(n):
                self.lines.append(self.inbox.get())
        else:
            self.lines.append("collector started")


def main(synced):
    c = Collector()
    t = threading.Thread(target=c.run, args=(synced, 2))
    t.start()
    for line in ("a", "b"):
        if synced:
            c.inbox.put(line)
        else:
            c.lines.append(line)
    if not synced:
        print(len(c.lines))
    t.join()
    print(len(c.lines))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
