"""The observer's set of bare holds is made once, even when two threads make their first bare
hold at the same moment (free-threaded builds: both could see no set, and one's hold be lost)."""

from __future__ import annotations

import threading

from snarl.runtime.observer import ObserverRuntime


def test_two_first_bare_holds_at_once_are_both_kept():
    rt = ObserverRuntime()
    other_held = threading.Event()
    ours, theirs = object(), object()
    calls = []

    def other() -> None:
        rt.hold_bare().add(theirs)
        other_held.set()

    def hooks() -> None:  # runs inside the first hold_bare(): the other thread comes in now
        calls.append(threading.get_ident())
        if len(calls) == 1:
            worker = threading.Thread(target=other)
            worker.start()
            # With the set made under a mutex, the other thread waits for this one and the
            # wait below times out; without it, the other thread makes a set of its own.
            other_held.wait(0.5)
            hooks.worker = worker  # type: ignore[attr-defined]

    rt.ensure_thread_hooks = hooks
    rt.hold_bare().add(ours)
    hooks.worker.join(30)  # type: ignore[attr-defined]
    assert other_held.is_set()
    assert rt.bare == {ours, theirs}
    assert len(calls) == 1  # the thread hooks are installed once
