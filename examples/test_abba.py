"""Two threads take two locks in opposite orders: ``python -m pytest --snarl-timeout=1``."""

import threading

lock_a, lock_b = threading.Lock(), threading.Lock()


def worker_ab(both):
    with lock_a:
        both.wait()
        with lock_b:
            pass


def worker_ba(both):
    with lock_b:
        both.wait()
        with lock_a:
            pass


def test_ordered():
    with lock_a, lock_b:
        pass


def test_abba():
    both = threading.Barrier(2)  # each holds its first lock before taking the second
    threads = [
        threading.Thread(target=worker_ab, args=(both,), name="worker-AB", daemon=True),
        threading.Thread(target=worker_ba, args=(both,), name="worker-BA", daemon=True),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
