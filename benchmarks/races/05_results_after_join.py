"""Workers fill result slots; the racy main reads them once a counter says so, the twin after
join()."""

import os
import sys
import threading
import time


class Progress:
    def __init__(self):
        self.done = 0


def work(results, i, progress, synced):
    results[i] = i * i
    if not synced:
        progress.done += 1


def main(synced):
    results = [None] * 2
    progress = Progress()
    ts = [threading.Thread(target=work, args=(results, i, progress, synced)) for i in range(2)]
    for t in ts:
        t.start()
    if synced:
        for t in ts:
            t.join()
    else:
        while progress.done < 2:
            time.sleep(0.001)
    print(results[0] + results[1])
    for t in ts:
        t.join()


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
