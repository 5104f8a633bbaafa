"""A target with parked threads.  ``parked.py [--agent] [--fork] [--threads N]``

N threads (default 3) wait on an Event, one waits on an empty Queue, one sleeps.  ``--agent``
starts the agent; ``--fork`` then forks a child that prints ``child PID agent=...`` (what it
knows of the agent) and exits normally, atexit handlers included, before the parent goes on.
It prints ``ready`` once every thread is parked, answers each ``ping`` on stdin with ``pong``,
and exits at the end of stdin.
"""

import os
import queue
import sys
import threading
import time

import snarl

stop = threading.Event()
jobs: queue.Queue = queue.Queue()


def idle() -> None:
    stop.wait()


def sleeper() -> None:
    while not stop.is_set():
        time.sleep(60)


def worker() -> None:
    jobs.get()


def main() -> None:
    n = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 3
    threads = [threading.Thread(target=idle, name=f"idle-{i}", daemon=True) for i in range(n)]
    threads.append(threading.Thread(target=worker, name="queue-worker", daemon=True))
    threads.append(threading.Thread(target=sleeper, name="sleeper", daemon=True))
    for t in threads:
        t.start()
    snarl.wait_until_blocked(*threads, timeout=60)
    if "--agent" in sys.argv:
        from snarl.remote import agent

        agent.start_agent()
        if "--fork" in sys.argv:
            child = os.fork()
            if child == 0:
                print(f"child {os.getpid()} agent={agent._agent}", flush=True)
                sys.exit(0)  # a normal exit: atexit handlers run in the child
            os.waitpid(child, 0)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "ping":
            print("pong", flush=True)


if __name__ == "__main__":
    main()
