"""Image resizes run in a pool; the racy main sums sizes before waiting, the twin waits for
all the futures first (concurrent.futures.wait)."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait


class Image:
    def __init__(self, w):
        self.width = w


def shrink(img):
    img.width //= 2


def main(synced):
    images = [Image(800), Image(600)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(shrink, img) for img in images]
        if synced:
            wait(futures)
        else:
            time.sleep(0.05)
        total = sum(img.width for img in images)
    print(total)


main(sys.argv[1:] == ["synced"] or os.environ.get("RACE_TWIN") == "1")
