"""The main thread fills a request and submits it to an executor; the racy main keeps editing
it after submit(), the twin fills it before (submit → task start) and reads the reply from the
Future."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor


class Request:
    def __init__(self):
        self.headers = {}


def send(req):
    return len(req.headers)


def main(synced):
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(int).result()  # the worker thread is running before the request exists
        req = Request()
        if synced:
            req.headers["auth"] = "token"
        fut = pool.submit(send, req)
        if not synced:
            req.headers["auth"] = "token"
        print(fut.result())


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
