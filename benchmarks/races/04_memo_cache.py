"""A memoising cache filled check-then-act from two threads; the twin holds a Lock."""

import os
import sys
import threading

cache = {}
cache_lock = threading.Lock()


def slow_square(n):
    return n * n


def cached_square(n, synced):
    if synced:
        with cache_lock:
            if n not in cache:
                cache[n] = slow_square(n)
            return cache[n]
    if n not in cache:
        cache[n] = slow_square(n)
    return cache[n]


def main(synced):
    ts = [threading.Thread(target=cached_square, args=(7, synced)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(cache)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
