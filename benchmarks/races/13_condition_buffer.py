"""A consumer waits for items in a buffer; the racy one polls the list, the twin waits on a
Condition that the producer notifies."""

import os
import sys
import threading
import time


class Buffer:
    def __init__(self):
        self.items = []
        self.cond = threading.Condition()

    def produce(self, synced):
        if synced:
            with self.cond:
                self.items.append("x")
                self.cond.notify()
        else:
            self.items.append("x")

    def consume(self, synced):
        if synced:
            with self.cond:
                self.cond.wait_for(lambda: len(self.items) > 0)
                return self.items.pop()
        while len(self.items) == 0:
            time.sleep(0.001)
        return self.items.pop()


def main(synced):
    buf = Buffer()
    c = threading.Thread(target=buf.consume, args=(synced,))
    p = threading.Thread(target=buf.produce, args=(synced,))
    c.start()
    p.start()
    c.join()
    p.join()
    print(buf.items)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
