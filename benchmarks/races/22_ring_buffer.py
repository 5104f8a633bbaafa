"""Two writers advance a ring buffer's slot in a deque; the twin holds a Lock."""

import os
import sys
import threading
from collections import deque


class Ring:
    def __init__(self):
        self.slots = deque([0, 0, 0])
        self.lock = threading.Lock()

    def write(self, value, synced):
        if synced:
            with self.lock:
                self.slots[0] = self.slots[0] + value
        else:
            self.slots[0] = self.slots[0] + value


def main(synced):
    ring = Ring()
    ts = [threading.Thread(target=ring.write, args=(i, synced)) for i in (1, 2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(ring.slots[0])


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
