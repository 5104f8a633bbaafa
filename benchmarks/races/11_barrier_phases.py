"""A two-phase stencil: each worker writes its cell, then reads its neighbour's; the twin waits
at a Barrier between the phases."""

import os
import sys
import threading


def step(cells, i, barrier, synced, out):
    cells[i] = i + 1
    if synced:
        barrier.wait()
    out[i] = cells[(i + 1) % len(cells)]


def main(synced):
    cells, out = [0, 0], [0, 0]
    barrier = threading.Barrier(2)
    ts = [threading.Thread(target=step, args=(cells, i, barrier, synced, out)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(out)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
