"""Two threads pull ids from one generator; the twin pulls under a Lock."""

import os
import sys
import threading


def ids():
    n = 0
    while True:
        n += 1
        yield n


def main(synced):
    gen, lock, got = ids(), threading.Lock(), []

    def pull():
        if synced:
            with lock:
                got.append(next(gen))
        else:
            got.append(next(gen))

    ts = [threading.Thread(target=pull) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sorted(got))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
