"""A loader publishes data and raises a ready flag the reader polls; the twin uses an Event."""

import os
import sys
import threading
import time


class Loader:
    def __init__(self):
        self.data = None
        self.ready = False
        self.loaded = threading.Event()

    def load(self, synced):
        self.data = {"rows": 3}
        if synced:
            self.loaded.set()
        else:
            self.ready = True


def main(synced):
    loader = Loader()
    t = threading.Thread(target=loader.load, args=(synced,))
    t.start()
    if synced:
        loader.loaded.wait()
    else:
        while not loader.ready:
            time.sleep(0.001)
    print(loader.data["rows"])
    t.join()


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
