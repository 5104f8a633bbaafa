"""A service loop polls a module-global stop flag that the main thread sets; the twin stops it
with an Event."""

import os
import sys
import threading
import time

stopping = False
stop_event = threading.Event()


def serve(synced):
    global stopping
    while True:
        if synced:
            if stop_event.wait(0.001):
                return
        elif stopping:
            return
        time.sleep(0.001)


def main(synced):
    global stopping
    t = threading.Thread(target=serve, args=(synced,))
    t.start()
    time.sleep(0.01)
    if synced:
        stop_event.set()
    else:
        stopping = True
    t.join()
    print("stopped")


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
