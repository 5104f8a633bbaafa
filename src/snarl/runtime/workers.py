"""OS threads kept from one managed thread to the next (CPython 3.10-3.12, with the GIL).

Under exploration every execution starts its threads anew, and creating, starting and reaping
an OS thread is most of what a short thread costs the explorer (about 40 of its 60 µs here).
A :class:`Workers` keeps the OS threads of managed threads that have ended, parked on a lock,
and runs the next managed thread's ``Thread._bootstrap`` on one of them.

A kept thread must start each managed thread as a new OS thread would:

* **thread-locals**: a ``threading.local`` keeps a thread's values in the thread state's dict
  (``PyThreadState_GetDict``) on 3.10-3.12; the worker clears that dict when a managed thread
  ends, as CPython does when a thread's state is deleted, so the values go with the thread.
  3.13 keeps them elsewhere, out of reach: :func:`available` is False there, and every managed
  thread gets an OS thread of its own.
* **context variables**: each managed thread runs in a new, empty ``contextvars.Context``;
* **trace and profile functions**: cleared, then set by threading's bootstrap as for any new
  thread;
* **ending**: a managed thread's ``_tstate_lock`` (the stand-in the runtime gave it, which
  ``is_alive()`` and ``join()`` wait on) is released when its bootstrap has returned and its
  thread-locals are gone, which is when CPython releases a real one;
* **stack size**: a thread asked for after ``threading.stack_size(n)`` gets a new OS thread.

A forked child has none of its parent's kept OS threads: it forgets them (``os.register_at_fork``).
"""

from __future__ import annotations

import _thread
import contextvars
import os
import sys
import weakref
from _thread import allocate_lock
from typing import Any

from .base import Abandon

__all__ = ["Workers", "available", "forget_thread_locals"]

_start_new_thread = _thread.start_new_thread  # as found at import: an exploration replaces it


def _thread_dict_getter() -> Any:
    """``PyThreadState_GetDict`` through ctypes, or None where it cannot be had."""
    if sys.version_info >= (3, 13) or not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    try:
        import ctypes

        get = ctypes.pythonapi.PyThreadState_GetDict
    except (ImportError, AttributeError, OSError):
        return None
    get.restype = ctypes.py_object
    get.argtypes = ()
    incref = ctypes.pythonapi.Py_IncRef
    incref.restype = None
    incref.argtypes = (ctypes.py_object,)

    def thread_dict() -> dict[Any, Any]:
        # ctypes takes a py_object result for a new reference and drops one; the function
        # returns a borrowed one, so the reference ctypes drops is given back first.
        found = get()
        incref(found)
        return found

    return thread_dict


_thread_dict = _thread_dict_getter()


def available() -> bool:
    """Whether managed threads can share kept OS threads here (see the module docstring)."""
    return _thread_dict is not None


def forget_thread_locals() -> bool:
    """Drop the calling thread's ``threading.local`` values, as its end would; False where
    that cannot be done (see the module docstring)."""
    if _thread_dict is None:
        return False
    _thread_dict().clear()
    return True


def _keep_stand_in() -> None:
    """Put on a managed thread instead of ``Thread._set_tstate_lock``: the stand-in lock the
    runtime set stays its ``_tstate_lock`` (the worker releases it when the thread ends)."""


class Workers:
    """The kept OS threads of one exploration; :meth:`close` lets them end."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self.closed = False
        _pools.add(self)

    def start(self, thread: Any, stand_in: Any) -> int | None:
        """Run ``thread._bootstrap()`` on a kept OS thread (a new one if none is free) and
        release ``stand_in`` when it has ended; the OS thread's ident.  None: not here (a
        stack size was asked for); the caller starts an OS thread of its own."""
        if self.closed or _thread.stack_size() != 0:
            return None
        try:
            worker = self._idle.pop()
        except IndexError:
            worker = _Worker(self)
        thread._set_tstate_lock = _keep_stand_in
        worker.job = (thread, stand_in)
        worker.go.release()
        return worker.ident

    def close(self) -> None:
        """Let every parked OS thread end; a busy one ends after its managed thread."""
        self.closed = True
        while self._idle:
            worker = self._idle.pop()
            worker.job = None
            worker.go.release()


class _Worker:
    __slots__ = ("go", "ident", "job", "pool")

    def __init__(self, pool: Workers) -> None:
        self.pool = pool
        self.job: tuple[Any, Any] | None = None
        self.go = allocate_lock()
        self.go.acquire()  # released to hand over a managed thread (job None: end)
        self.ident: int = _start_new_thread(self._loop, ())

    def _loop(self) -> None:
        thread_dict = _thread_dict()
        while True:
            self.go.acquire()
            job, self.job = self.job, None
            if job is None:
                return
            thread, stand_in = job
            sys.settrace(None)  # as in a new thread: threading's bootstrap sets its hooks
            sys.setprofile(None)
            retire = False
            try:
                contextvars.Context().run(thread._bootstrap)
            except Abandon:  # an interrupt meant for the thread's run() (see stuck.interrupt)
                retire = True  # came after it: this OS thread ends, quietly
            finally:
                thread.__dict__.pop("_set_tstate_lock", None)
                thread_dict.clear()  # the managed thread's thread-locals end with it
                if stand_in.locked():  # (an abandoned start may have released it already)
                    try:  # noqa: SIM105  (contextlib: imports on a path that must stay quick)
                        stand_in.release()
                    except RuntimeError:
                        pass
            if retire or self.pool.closed:
                return
            self.pool._idle.append(self)


_pools: weakref.WeakSet[Workers] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for pool in list(_pools):
        pool._idle.clear()  # their OS threads stayed in the parent


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
