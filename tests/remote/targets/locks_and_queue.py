"""A target for capturing py-spy output: one thread holds a lock (sleeping), one waits for it,
one waits on an empty Queue; the main thread prints ``ready`` and sleeps 60 s."""

import queue
import threading
import time

lock = threading.Lock()
jobs = queue.Queue()
ready = threading.Barrier(3)


def holder():
    with lock:
        ready.wait()
        time.sleep(60)


def waiter():
    ready.wait()
    with lock:
        pass


def worker(n):
    jobs.get()


threading.Thread(target=holder, name="holder", daemon=True).start()
threading.Thread(target=waiter, name="waiter", daemon=True).start()
threading.Thread(target=worker, args=(1,), name="worker-1", daemon=True).start()
ready.wait()
print("ready", flush=True)
time.sleep(60)
