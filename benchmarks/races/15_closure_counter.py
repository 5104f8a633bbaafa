"""Threads count through a closure's nonlocal; the twin counts in a threading.local."""

import os
import sys
import threading


def make_counter():
    count = 0

    def bump():
        nonlocal count
        count += 1

    def value():
        return count

    return bump, value


def main(synced):
    bump, value = make_counter()
    local = threading.local()

    def work():
        if synced:
            local.count = getattr(local, "count", 0) + 1
        else:
            bump()

    ts = [threading.Thread(target=work) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(value())


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
