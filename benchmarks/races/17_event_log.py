"""A reporter iterates an event log while a worker appends to it; the twin shares a Lock."""

import os
import sys
import threading


class EventLog:
    def __init__(self):
        self.events = ["start"]
        self.lock = threading.Lock()

    def add(self, event, synced):
        if synced:
            with self.lock:
                self.events.append(event)
        else:
            self.events.append(event)

    def summary(self, synced, out):
        if synced:
            with self.lock:
                out.append([e.upper() for e in self.events])
        else:
            out.append([e.upper() for e in self.events])


def main(synced):
    log, out = EventLog(), []
    ts = [
        threading.Thread(target=log.add, args=("tick", synced)),
        threading.Thread(target=log.summary, args=(synced, out)),
    ]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(len(out))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
