"""The check interval's GIL offers, as events of a timeline recording (``record(gil=True)``).

On a build with a GIL the offer is :class:`snarl.interval.offer.Handoff`: an offer another
thread acknowledged becomes a ``"gil"`` event, from the offer until the offering thread has the
GIL back, with the thread that took it.  On a free-threaded build it is the token of
:class:`snarl.interval.turns.Turns`: a handover to a waiting thread is the same event.  An
emulation's start and end are ``"interval"`` events.  :func:`wrap_offers` puts the wrappers on
the classes (emulations started during the recording are seen) and returns what undoes them.
"""

from __future__ import annotations

from _thread import get_ident
from collections.abc import Callable
from time import perf_counter_ns
from typing import Any

from ..interval.offer import Handoff
from ..interval.turns import Turns

__all__ = ["wrap_offers"]


def wrap_offers(recorder: Any) -> Callable[[], None]:
    """Record ``recorder``'s GIL events from both offer classes; returns the undo."""
    saved = {
        (Handoff, "offer"): Handoff.offer,
        (Handoff, "ack"): Handoff.ack,
        (Handoff, "__init__"): Handoff.__init__,
        (Handoff, "forget"): Handoff.forget,
        (Turns, "offer"): Turns.offer,
        (Turns, "__init__"): Turns.__init__,
        (Turns, "close"): Turns.close,
    }

    def interval(on: bool) -> None:
        if recorder.active:
            recorder._add(("interval", perf_counter_ns(), on))

    def recorded_offer(offer: Callable[[Any], None], made: Callable[[Any], int]) -> Any:
        def wrapper(self: Any) -> None:
            if not recorder.active:
                offer(self)
                return
            before = made(self)
            t0 = perf_counter_ns()
            offer(self)
            if made(self) != before:
                recorder.gil_offered(t0, perf_counter_ns())

        wrapper.__doc__ = offer.__doc__
        return wrapper

    def handoff_init(self: Handoff) -> None:
        saved[Handoff, "__init__"](self)
        interval(True)

    def handoff_forget(self: Handoff) -> None:
        saved[Handoff, "forget"](self)
        interval(False)

    def handoff_ack(self: Handoff) -> None:
        pending = self.pending
        if pending is not None and pending[0] != get_ident() and recorder.active:
            recorder.gil_taken(pending[0])
        saved[Handoff, "ack"](self)

    def turns_init(self: Turns, *args: Any, **kwargs: Any) -> None:
        saved[Turns, "__init__"](self, *args, **kwargs)
        self.on_handover = lambda giver, taker: recorder.active and recorder.gil_given(giver, taker)
        interval(True)

    def turns_close(self: Turns) -> None:
        saved[Turns, "close"](self)
        interval(False)

    Handoff.offer = recorded_offer(saved[Handoff, "offer"], lambda h: h.offers)  # type: ignore[method-assign]
    Handoff.ack = handoff_ack  # type: ignore[method-assign]
    Handoff.__init__ = handoff_init  # type: ignore[method-assign]
    Handoff.forget = handoff_forget  # type: ignore[method-assign]
    Turns.offer = recorded_offer(saved[Turns, "offer"], lambda t: t.handovers)  # type: ignore[method-assign]
    Turns.__init__ = turns_init  # type: ignore[method-assign]
    Turns.close = turns_close  # type: ignore[method-assign]

    def undo() -> None:
        for (cls, name), original in saved.items():
            setattr(cls, name, original)

    return undo
