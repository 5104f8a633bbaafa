"""The GIL offer's decisions: nothing when there is no one to hand to, a probe and then a
back-off when other threads exist but none wants the GIL, a handover when one does."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

from snarl.interval import offer
from snarl.interval.offer import PROBE, Handoff
from tests.helpers import REPO


def test_with_no_other_thread_an_offer_does_nothing():
    # A fresh interpreter, so no thread of another test is alive.
    code = textwrap.dedent(
        """
        import _thread
        from snarl.interval.offer import Handoff
        assert _thread._count() == 0
        h = Handoff()
        for _ in range(1000):
            h.offer()
        print(h.offers, h.handovers, h.pending)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(REPO / "src")},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "0", "None"]


def test_beside_a_blocked_thread_offers_probe_then_back_off():
    gate = threading.Lock()
    gate.acquire()
    idle = threading.Thread(target=gate.acquire, name="idle-beside-offers")
    idle.start()
    try:
        h = Handoff()
        h.offer()  # a probe: nobody takes the GIL, so it times out after PROBE seconds
        state = h._states[threading.get_ident()]
        assert (h.offers, h.handovers) == (1, 0)
        assert state.skip == 1 and state.backoff == 2  # the next offer is a cheap one
        for _ in range(3):  # cheap, probe (then 2 cheap ones due), cheap
            h.offer()
        assert h.offers == 4 and h.handovers == 0
        assert state.backoff == 4 and state.skip == 1
        assert h.pending is None
    finally:
        gate.release()
        idle.join()


def test_an_offer_acknowledged_by_another_thread_is_a_handover():
    h = Handoff()
    published = threading.Event()
    h.on_pending = published.set  # called when the offer is published, before the wait
    acked = []

    def other() -> None:
        published.wait(30)
        h.ack()  # what the other thread's counting hook does while an offer is pending
        acked.append(True)

    t = threading.Thread(target=other, name="acknowledger")
    t.start()
    # The offerer waits PROBE seconds per probe; an acknowledgement ends it at once.  Offer
    # until one is acknowledged: the first is, unless the other thread was not yet waiting
    # on the Event (then it acknowledges a later probe).
    for _ in range(int(30 / PROBE)):
        h.offer()
        if h.handovers:
            break
        h._states[threading.get_ident()].skip = 0  # probe again, do not back off
    t.join(30)
    assert acked == [True]
    assert h.handovers == 1 and h.pending is None


def test_an_offer_made_while_another_is_pending_answers_it_first(monkeypatch):
    # With a short switch interval the interpreter can run a second thread before the first
    # one's acknowledging hooks are in; that thread's own offer must answer the first one,
    # not replace it (the first offerer would then wait for an answer that never comes).
    monkeypatch.setattr(offer, "PROBE", 30.0)  # offers wait until answered: no timing
    h = Handoff()
    first_published, second_published = threading.Event(), threading.Event()
    h.on_pending = first_published.set
    answered = []

    def first() -> None:
        h.offer()  # returns only once another thread answers it
        answered.append(h.handovers)
        assert second_published.wait(30)
        h.ack()  # answer the main thread's offer in turn

    t = threading.Thread(target=first, name="first-offerer")
    t.start()
    try:
        assert first_published.wait(30)
        h.on_pending = second_published.set
        h._last = -1  # as if another thread ran last: this offer probes, it is not a cheap one
        h.offer()  # answers the first thread's pending offer, then makes its own
    finally:
        t.join(30)
    assert not t.is_alive()
    assert answered == [1]  # the first offer was a handover, answered by the second
    assert h.handovers == 2 and h.pending is None
