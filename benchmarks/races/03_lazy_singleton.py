"""Lazy initialisation of a singleton from two threads; the twin initialises before start()."""

import os
import sys
import threading

_instance = None


class Registry:
    def __init__(self):
        self.entries = {}


def get_registry():
    global _instance
    if _instance is None:
        _instance = Registry()
    return _instance


def main(synced):
    if synced:
        get_registry()  # initialised before any thread starts
    workers = [threading.Thread(target=get_registry) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(type(_instance).__name__)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
