"""Request handlers count hits in a module global; the twin uses an RLock (re-entered)."""

import os
import sys
import threading

hits = 0
_lock = threading.RLock()


def record_hit(synced):
    global hits
    if synced:
        with _lock, _lock:
            hits += 1
    else:
        hits += 1


def main(synced):
    handlers = [threading.Thread(target=record_hit, args=(synced,)) for _ in range(3)]
    for h in handlers:
        h.start()
    for h in handlers:
        h.join()
    print(hits)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
