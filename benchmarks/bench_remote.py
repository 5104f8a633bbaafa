#!/usr/bin/env python3
"""How long ``snarl dump PID`` takes on another process with 1000 threads, against py-spy.

A target process (this interpreter, snarl from this checkout) starts N threads (default 1000)
parked in four ways: ``Event.wait`` (70%), ``Queue.get`` (15%), ``time.sleep`` (10%) and a
lock held by another thread (5%).  It waits until ``snarl.wait_until_blocked`` shows every one
parked, starts snarl's agent, and prints ``ready``.  Then, for 1 warm-up and ``--repeat``
timed rounds in a rotating order, each command below is run to completion, its output to
``/dev/null``, and its wall time measured:

1. ``snarl dump PID --method agent``: ``python -m snarl.remote`` (the ``snarl dump`` code, and
   the same interpreter start-up and imports as the ``snarl`` command);
2. ``snarl dump PID --method gdb``: the same through gdb injection (skipped without gdb);
3. ``py-spy dump --pid PID`` (``--py-spy PATH``, else ``py-spy`` on ``PATH``; skipped if none);
4. ``python -c "import snarl.remote"``: the start-up floor of 1 and 2;
5. ``fetch(PID, method="agent")`` in this process: the agent round trip without start-up.

It prints the median, min and max in milliseconds, and each median's ratio to py-spy's:

    python benchmarks/bench_remote.py [--threads 1000] [--repeat 9] [--py-spy PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable

from _parked import repo_src

TARGET = textwrap.dedent(
    """
    import queue, sys, threading, time
    import snarl
    from snarl.remote import start_agent

    n = int(sys.argv[1])
    stop = threading.Event()
    jobs = queue.Queue()
    lock = threading.Lock()
    lock.acquire()  # held by the main thread: the lock waiters never get it

    def idle():
        stop.wait()

    def worker():
        jobs.get()

    def sleeper():
        while not stop.is_set():
            time.sleep(3600)

    def locked():
        with lock:
            pass

    kinds = [idle] * 70 + [worker] * 15 + [sleeper] * 10 + [locked] * 5
    threading.stack_size(256 * 1024)
    threads = [
        threading.Thread(target=kinds[i % 100], name=f"{kinds[i % 100].__name__}-{i}", daemon=True)
        for i in range(n)
    ]
    for t in threads:
        t.start()
    snarl.wait_until_blocked(*threads, timeout=300)
    start_agent()
    print("ready", flush=True)
    sys.stdin.read()
    """
)


def timed(command: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one run of ``command``; RuntimeError if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{command} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--py-spy", dest="pyspy", default=shutil.which("py-spy"))
    args = parser.parse_args()

    src = repo_src()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    from snarl.remote import fetch

    target = subprocess.Popen(
        [sys.executable, "-c", TARGET, str(args.threads)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert target.stdout is not None
        line = target.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"the target did not start: {line!r}")
        pid = str(target.pid)
        snarl_cmd = [sys.executable, "-m", "snarl.remote", pid, "--timeout", "60"]
        runs: dict[str, Callable[[], float]] = {
            "snarl dump (agent)": lambda: timed([*snarl_cmd, "--method", "agent"], env),
        }
        if shutil.which("gdb"):
            runs["snarl dump (gdb)"] = lambda: timed([*snarl_cmd, "--method", "gdb"], env)
        if args.pyspy:
            runs["py-spy dump"] = lambda: timed([args.pyspy, "dump", "--pid", pid], env)
        runs["start-up floor"] = lambda: timed([sys.executable, "-c", "import snarl.remote"], env)

        def in_process() -> float:
            t0 = time.perf_counter()
            got = fetch(int(pid), method="agent", timeout=60)
            elapsed = time.perf_counter() - t0
            assert len(got.snapshot.threads) == args.threads + 1, len(got.snapshot.threads)
            return elapsed

        runs["fetch() in-process (agent)"] = in_process
        names = list(runs)
        samples: dict[str, list[float]] = {name: [] for name in names}
        for round_ in range(args.repeat + 1):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                seconds = runs[name]()
                if round_:  # round 0 warms caches up
                    samples[name].append(seconds)
    finally:
        if target.stdin is not None:
            target.stdin.close()
        target.wait(timeout=60)

    print(
        f"bench_remote: CPython {platform.python_version()}, {args.threads} threads,"
        f" {args.repeat} rounds (median, min, max in ms)"
    )
    base = statistics.median(samples["py-spy dump"]) if "py-spy dump" in samples else None
    for name in names:
        values = samples[name]
        med = statistics.median(values)
        ratio = f"  {med / base:5.2f}x py-spy" if base else ""
        print(
            f"  {name:<28} {med * 1000:8.1f} {min(values) * 1000:8.1f}"
            f" {max(values) * 1000:8.1f}{ratio}"
        )


if __name__ == "__main__":
    main()
