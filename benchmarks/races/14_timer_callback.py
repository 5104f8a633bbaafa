"""A Timer's callback flushes a report; the racy main edits the report after starting the
timer, the twin finishes it before start() and joins."""

import os
import sys
import threading


class Report:
    def __init__(self):
        self.lines = []
        self.title = ""


def flush(report, out):
    out.append(report.title)


def main(synced):
    report, out = Report(), []
    if synced:
        report.title = "daily"
    timer = threading.Timer(0.01, flush, args=(report, out))
    timer.start()
    if not synced:
        report.title = "daily"
    timer.join()
    print(out)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
