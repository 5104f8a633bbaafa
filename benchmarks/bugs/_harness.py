"""A threaded program in *workers form*: fresh state, one function per thread, a final check.

Every bug of the suite is written this way where it can be (``Program``), so that the same
code runs under snarl and interleave-test (a no-argument test function that starts, joins and
checks: :meth:`Program.run`) and under frontrun (``setup``, ``workers`` and an invariant over
the state: frontrun starts the worker threads itself).  Stdlib only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Program:
    """``setup()`` makes the shared state (its locks, queues and Conditions too); each worker
    runs in its own thread with the state as its argument; ``check(state)`` asserts on the
    final state once every worker has ended."""

    setup: Callable[[], Any]
    workers: tuple[Callable[[Any], None], ...]
    check: Callable[[Any], None]

    def run(self) -> None:
        """The test function's body: set up, start every worker, join them all, check."""
        state = self.setup()
        threads = [
            threading.Thread(target=w, args=(state,), name=getattr(w, "__name__", f"w{i}"))
            for i, w in enumerate(self.workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.check(state)

    def invariant(self, state: Any) -> bool:
        """``check`` as a predicate (frontrun's ``invariant``; an AssertionError is a failure)."""
        self.check(state)
        return True


def named(fn: Callable[[Any], None], name: str) -> Callable[[Any], None]:
    """``fn`` renamed (the thread name a report shows)."""
    fn.__name__ = fn.__qualname__ = name
    return fn
