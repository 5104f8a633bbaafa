"""Pool tasks count events in a shared dict; the twin returns counts through Future.result()."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

stats = {}


def handle(event, synced):
    if synced:
        return event
    stats[event] = stats.get(event, 0) + 1
    return None


def main(synced):
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(handle, "open", synced)]
        if not synced:
            stats["batches"] = 1  # the main thread inserts while the first task counts
        futures += [pool.submit(handle, e, synced) for e in ["click", "click", "view"]]
        if synced:
            for f in futures:
                event = f.result()
                stats[event] = stats.get(event, 0) + 1
            stats["batches"] = 1
    print(sorted(stats.items()))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
