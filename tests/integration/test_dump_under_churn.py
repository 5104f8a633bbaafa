"""1000 dumps while other threads keep starting and finishing: no error, nothing misnamed.

Churner threads start short-lived ``threading`` threads and ``_thread`` threads (some of which
register a ``_DummyThread`` and exit, leaving it behind in ``threading._active`` on 3.10-3.12),
so idents are reused all the time.  Every snapshot is checked against what each thread is known
to be: its own record of its ident, and the function at the bottom of its stack.
"""

from __future__ import annotations

import _thread
import json
import threading
import time

import snarl
from snarl.threaddump.model import STATES

from ..helpers import JOIN_TIMEOUT

DUMPS = 1000
PARKED = ("waiting", "sleeping", "idle")


class Churn:
    def __init__(self) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.own_ident: dict[str, int] = {}  # churn thread name -> ident it read itself
        self.dummies: list[threading.Thread] = []
        self.started = 0
        self.raw_running = 0
        self.raw_done = threading.Condition()

    def short_life(self) -> None:
        me = threading.current_thread()
        self.own_ident[me.name] = threading.get_ident()
        with self.lock:
            pass

    def raw_plain(self, gate: threading.Event) -> None:
        try:
            with self.lock:
                pass
            gate.wait()
        finally:
            self._raw_exit()

    def raw_with_dummy(self, gate: threading.Event) -> None:
        try:
            self.dummies.append(threading.current_thread())
            gate.wait()
        finally:
            self._raw_exit()

    def _raw_exit(self) -> None:
        with self.raw_done:
            self.raw_running -= 1
            self.raw_done.notify_all()

    def _start_raw(self, fn, gate: threading.Event) -> None:
        with self.raw_done:
            self.raw_running += 1
        _thread.start_new_thread(fn, (gate,))

    def churner(self, prefix: str) -> None:
        # The _thread threads of one round live until the end of the next round.
        i = 0
        previous = threading.Event()
        while not self.stop.is_set():
            gate = threading.Event()
            batch = [
                threading.Thread(target=self.short_life, name=f"{prefix}-{i + k}", daemon=True)
                for k in range(3)
            ]
            for t in batch:
                t.start()
            self._start_raw(self.raw_plain if i % 2 else self.raw_with_dummy, gate)
            self._start_raw(self.raw_plain, gate)
            for t in batch:
                t.join()
            previous.set()
            previous = gate
            self.started += len(batch) + 2
            i += len(batch)
        previous.set()

    def wait_raw_done(self) -> None:
        with self.raw_done:
            assert self.raw_done.wait_for(lambda: self.raw_running == 0, JOIN_TIMEOUT)

    def forget_dummies(self) -> None:
        """Undo threading's leak: dummies of exited foreign threads stay in ``_active``."""
        ours = {id(d) for d in self.dummies}
        with threading._active_limbo_lock:
            for ident, t in list(threading._active.items()):
                if id(t) in ours:
                    del threading._active[ident]


def bottom_function(info: snarl.ThreadInfo) -> str:
    return info.frames[-1].function if info.frames else ""


def check(snap: snarl.Snapshot, churn: Churn, text: str) -> None:
    idents = [t.ident for t in snap.threads]
    assert len(idents) == len(set(idents)), "an ident listed twice"
    assert sum(t.current for t in snap.threads) == 1
    assert sum(t.main for t in snap.threads) == 1
    assert snap.threads[0].main
    assert f"· {len(snap.threads)} thread" in text.splitlines()[0]
    for t in snap.threads:
        assert t.state in STATES, t
        assert (t.wait is not None) == (t.state in PARKED), t
        bottom = bottom_function(t)
        if t.origin == "_thread":
            assert t.name is None and t.native_id is None and t.daemon is None, t
        else:
            assert t.name is not None, t
        if bottom.endswith("raw_plain"):
            # Never registered with threading: whatever its ident was used for before.
            assert (t.origin, t.name) == ("_thread", None), t
        if t.origin == "dummy":
            # (3.13: at its end the thread deletes its dummy, in _DeleteDummyThreadOnDel)
            assert bottom.endswith(("raw_with_dummy", "_DeleteDummyThreadOnDel.__del__")), t
            assert t.name.startswith("Dummy-"), t
        if t.name is not None and t.name.startswith("churn"):
            assert t.origin == "threading", t
            assert bottom.endswith("_bootstrap"), t
            own = churn.own_ident.get(t.name)
            assert own is None or own == t.ident, (t, own)


def test_thousand_dumps_while_threads_start_and_finish(threads):
    churn = Churn()
    threads.on_teardown(churn.forget_dummies)
    threads.on_teardown(churn.wait_raw_done)
    threads.on_teardown(churn.stop.set)
    for prefix in ("churn-a", "churn-b"):
        threads.start(churn.churner, prefix, name=f"churner-{prefix}")

    deadline = time.monotonic() + JOIN_TIMEOUT
    while churn.started < 20:  # the churn is under way before the first dump
        assert time.monotonic() < deadline
        time.sleep(0.001)
    started_before = churn.started
    churn_seen = raw_seen = dummy_seen = 0
    for i in range(DUMPS):
        snap = snarl.snapshot()
        text = snarl.format_dump(snap, "text", group=bool(i % 2))
        check(snap, churn, text)
        if not i % 2:
            for t in snap.threads:
                assert f"ident={t.ident:#x}" in text
        if i % 50 == 0:
            assert snarl.Snapshot.from_dict(json.loads(snarl.format_dump(snap, "json"))) == snap
        churn_seen += any(t.name and t.name.startswith("churn") for t in snap.threads)
        raw_seen += any(t.origin == "_thread" for t in snap.threads)
        dummy_seen += any(t.origin == "dummy" for t in snap.threads)

    assert churn.started - started_before >= 100, "threads did not churn during the dumps"
    assert churn_seen > 0
    assert raw_seen > 0
    assert dummy_seen > 0
