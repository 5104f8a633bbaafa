"""``time.sleep`` as synchronisation: sleep 0.1 s "to let the other thread initialise".

Bug: the server starts the initialiser, sleeps 0.1 s so that it has loaded the configuration,
then reads it.  Nothing makes the initialiser run within those 0.1 s (a loaded machine, a slow
load): the server then reads ``None``, and ``None["port"]`` raises ``TypeError``.  Fix: wait
for an ``Event`` the initialiser sets once the configuration is there.
"""

from __future__ import annotations

import threading
import time

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/sleep_sync.py::buggy)
    from _harness import Program

GRANULARITY = "sync"
SWITCH = "time.sleep(0.1) (the initialiser need not have run when it ends)"
EXPECT = "exception"
CLASS = "sleep-sync"


class Server:
    def __init__(self) -> None:
        self.config: dict[str, int] | None = None
        self.ready = threading.Event()
        self.port: int | None = None


def initialise(s: Server) -> None:
    s.config = {"port": 8080}
    s.ready.set()


def serve(s: Server) -> None:
    time.sleep(0.1)  # long enough for initialise() to finish (it is not a guarantee)
    s.port = s.config["port"]  # type: ignore[index]


def serve_when_ready(s: Server) -> None:
    s.ready.wait()
    s.port = s.config["port"]  # type: ignore[index]


def check(s: Server) -> None:
    assert s.port == 8080, f"port = {s.port}"


BUGGY = Program(Server, (initialise, serve), check)
FIXED = Program(Server, (initialise, serve_when_ready), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
