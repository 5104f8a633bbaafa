"""The check interval is back: Python 2's two classic sys.setcheckinterval demonstrations.

Three threads each report their name five times, with some extra loop iterations before each
report.  With a small interval and extra work, the running thread offers the GIL often and the
names interleave; with an interval larger than a thread's whole run, each thread finishes
before the next one starts.  The first variant puts the names on a Queue and prints them at the
end; the second prints straight from each thread, so the output itself interleaves.

Run:  python examples/checkinterval.py [--runs N]
"""

import itertools
import platform
import queue
import sys
import threading

import snarl

SETTINGS = [(10, 1000), (10, 0), (100, 1000), (100000, 1000)]


def show_thread(q: "queue.Queue[str]", extra: int) -> None:
    for _ in range(5):
        for _ in range(extra):
            pass
        q.put(threading.current_thread().name)


def print_thread(extra: int) -> None:
    for _ in range(5):
        for _ in range(extra):
            pass
        print(threading.current_thread().name, end=" ", flush=True)


def run_threads(target, args, interval: int) -> None:
    threads = [threading.Thread(target=target, name=f"T{i}", args=args) for i in range(3)]
    with snarl.checkinterval(interval):
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def queue_demo(interval: int, extra: int) -> "list[str]":
    """One run of the Queue variant: the 15 names in the order the threads put them."""
    q: queue.Queue[str] = queue.Queue()
    run_threads(show_thread, (q, extra), interval)
    return [q.get_nowait() for _ in range(15)]


def switches(names: "list[str]") -> int:
    """How many times the name changes (2 when the threads ran one after another)."""
    return sum(1 for a, b in itertools.pairwise(names) if a != b)


def main() -> None:
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 1
    print(
        f"snarl.setcheckinterval on {platform.python_implementation()} "
        f"{platform.python_version()}: 3 threads x 5 names each\n"
    )
    print("Queue variant: names in the order the threads put them")
    for interval, extra in SETTINGS:
        for _ in range(runs):
            names = queue_demo(interval, extra)
            print(
                f"  interval {interval:>6}, {extra:>4} extra:  {' '.join(names)}"
                f"  ({switches(names)} switches)"
            )
    print(
        "\n  Python 2 printed 'interval 10, 0 extra' in order: the thread that offered the GIL"
        "\n  took it straight back; snarl's offer hands it to a waiting thread, so it interleaves."
    )
    print("\nPrint variant: each thread prints its own name")
    for interval, extra in [(100, 1000), (10, 0)]:
        for _ in range(runs):
            print(f"  interval {interval:>6}, {extra:>4} extra:  ", end="", flush=True)
            run_threads(print_thread, (extra,), interval)
            print()


if __name__ == "__main__":
    main()
