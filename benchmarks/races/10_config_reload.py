"""Readers use a config that the main thread reloads; the twin shares an immutable tuple that
is never rebound while they run."""

import os
import sys
import threading


class Config:
    def __init__(self):
        self.timeout = 5


config = Config()
LIMITS = (5, 10, 30)


def reader(synced, out):
    if synced:
        out.append(LIMITS[0] + len(LIMITS))
    else:
        out.append(config.timeout)


def main(synced):
    out = []
    ts = [threading.Thread(target=reader, args=(synced, out)) for _ in range(2)]
    for t in ts:
        t.start()
    if not synced:
        config.timeout = 10  # a reload while the readers run
    for t in ts:
        t.join()
    print(len(out))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
