"""Widgets count their instances in a class attribute from several threads; the twin holds a
Lock."""

import os
import sys
import threading


class Widget:
    created = 0
    lock = threading.Lock()

    def __init__(self, synced):
        if synced:
            with Widget.lock:
                Widget.created = Widget.created + 1
        else:
            Widget.created = Widget.created + 1


def main(synced):
    ts = [threading.Thread(target=Widget, args=(synced,)) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(Widget.created)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
