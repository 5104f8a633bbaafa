"""Reprs of locals (``locals=True`` only): bounded before they are built, and in time.

* Built-in strings, bytes and containers are cut *before* their repr is made (a 300 MB
  ``bytes`` local costs a 200-byte slice, not a 1.2 GB repr), per object and in total.
* A user ``__repr__`` can only be bounded in time: every repr runs in a worker thread
  (``_thread``: no lock of ``threading`` is taken) and the dump waits for it at most
  :data:`PER_OBJECT` seconds, and :data:`TOTAL` seconds per dump.  A repr that does not
  return in time is abandoned: its worker is never waited on again, the local reads
  ``<repr did not return within 0.5 s: abandoned>``, and the dump's remaining reprs are
  not run (``<not run: ...>``).  The next dump starts a fresh worker, so one stuck
  ``__repr__`` cannot wedge the dump agent.
"""

from __future__ import annotations

import _thread
import reprlib
import time
from typing import Any

from ..frames import exempt
from .safe import type_name

__all__ = ["PER_OBJECT", "TOTAL", "TOTAL_CHARS", "Reprs", "bounded_repr"]

PER_OBJECT = 0.5  # seconds a single repr may take
TOTAL = 3.0  # seconds all reprs of one dump may take
TOTAL_CHARS = 1 << 20  # characters of repr text one dump may hold


class _BoundedRepr(reprlib.Repr):
    def repr_instance(self, obj: Any, level: int) -> str:
        try:
            text = repr(obj)
        except BaseException as exc:  # user code may raise anything
            return f"<{type_name(obj)} repr failed: {type(exc).__name__}>"
        if len(text) > self.maxother:
            keep = max(0, self.maxother - 3)
            text = text[: keep // 2] + "..." + text[len(text) - keep // 2 :]
        return text

    def _sliced(self, obj: Any, level: int) -> str:
        tp = type(obj)
        if tp is not str and tp is not bytes and tp is not bytearray:
            return self.repr_instance(obj, level)  # a user class that happens to bear the name
        if len(obj) <= self.maxstring:
            return repr(obj)
        return repr(obj[: self.maxstring]) + "..."

    repr_str = _sliced
    repr_bytes = _sliced
    repr_bytearray = _sliced

    def repr_memoryview(self, obj: Any, level: int) -> str:
        if type(obj) is not memoryview:
            return self.repr_instance(obj, level)
        return f"<memory at {id(obj):#x}, {obj.nbytes} bytes>"


_repr = _BoundedRepr()
_repr.maxother = 200
_repr.maxstring = 200
_repr.maxlevel = 3


def bounded_repr(obj: object, limit: int = 200) -> str:
    """``repr(obj)`` cut to ``limit`` characters; never raises, even if ``__repr__`` does.

    Built-in strings, bytes and containers are cut before their repr is built.  This runs
    user ``__repr__`` methods (in the calling thread, unbounded in time): use :class:`Reprs`
    to bound them in time too.
    """
    try:
        text = _repr.repr(obj)
    except BaseException as exc:  # RecursionError, or anything a repr raises
        text = f"<{type_name(obj)} repr failed: {type(exc).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


class _Job:
    __slots__ = ("done", "obj", "text")

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.text: str | None = None
        self.done = _thread.allocate_lock()
        self.done.acquire()


def _work(inbox: list[_Job], ready: Any) -> None:
    """The worker: reprs jobs one at a time, until the dump is done (an empty job)."""
    try:
        while True:
            ready.acquire()
            job = inbox.pop(0)
            if job.obj is _STOP:
                return
            job.text = bounded_repr(job.obj)
            job.obj = None
            job.done.release()
    finally:
        exempt(_thread.get_ident(), False)


_STOP = object()


class Reprs:
    """One dump's reprs: each in a worker thread, bounded per object, in time and in total."""

    def __init__(self, per_object: float = PER_OBJECT, total: float = TOTAL) -> None:
        self.per_object = per_object
        self.deadline = time.monotonic() + total
        self.chars = 0
        self.stuck: str | None = None
        self._inbox: list[_Job] = []
        self._ready = _thread.allocate_lock()
        self._ready.acquire()
        self._worker = False

    def __call__(self, obj: object) -> str:
        """The bounded repr of ``obj``, or a note saying why it is not shown."""
        if self.stuck is not None:
            return f"<not run: {self.stuck}>"
        if self.chars >= TOTAL_CHARS:
            return "<not shown: the dump's repr budget is spent>"
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self.stuck = "the dump's time for reprs is spent"
            return f"<not run: {self.stuck}>"
        if not self._worker:
            worker = _thread.start_new_thread(_work, (self._inbox, self._ready))
            exempt(worker)  # (a free-threaded dump parks other threads: never this one)
            self._worker = True
        job = _Job(obj)
        self._inbox.append(job)
        self._ready.release()
        wait = min(self.per_object, remaining)
        if not job.done.acquire(True, wait):
            # Abandoned: the worker is never waited on again (it ends when the repr returns).
            self.stuck = "an earlier repr did not return"
            self._worker = False  # a later call would start another; none is made
            return f"<repr did not return within {wait:.1f} s: abandoned>"
        text = job.text or ""
        self.chars += len(text)
        return text

    def close(self) -> None:
        """Let the worker end (it is not waited for)."""
        if self._worker:
            self._inbox.append(_Job(_STOP))
            self._ready.release()
            self._worker = False
