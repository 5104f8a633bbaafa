"""Downloads write into page objects; the racy main peeks before they finish, the twin reads
each as it completes (as_completed)."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed


class Page:
    def __init__(self, url):
        self.url = url
        self.body = None


def fetch(page):
    page.body = f"<html>{page.url}</html>"
    return page


def main(synced):
    pages = [Page(u) for u in ("a", "b")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(fetch, p) for p in pages]
        if synced:
            sizes = [len(f.result().body) for f in as_completed(futures)]
        else:
            time.sleep(0.05)
            sizes = [len(p.body or "") for p in pages]
    print(sorted(sizes))


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
