"""Thread lifecycle for the runtime: start, exit and join, hooked into ``threading.Thread``.

Rather than a Thread subclass (which would miss ``threading.Timer``, pool workers and every
subclass defined before install), :func:`patch_thread` swaps two methods on
``threading.Thread`` itself, so every Thread, whenever its class was defined, reports:

* ``_bootstrap_inner``: the runtime hears ``thread_started`` and ``thread_exited`` in the
  thread's own context (the observer then records locks it still held at exit);
* ``join``: the runtime records the join wait (kind ``join``) while the native join waits;
* ``start``: the runtime hears ``thread_starting`` in the starting thread, before the OS
  thread exists (the controlled runtime registers the new thread there).

``_thread.start_new_thread`` is wrapped too, without touching the function the thread runs:
its caller reads, before the start, the locks that ended threads left held, and after it, with
the new ident, records as ended the owner of any left under that ident (glibc reuses an
ident at once), so dumps do not name the new thread their owner.

The hooks go in with :func:`snarl.install`, and also as soon as the first tracked primitive is
created (a lock must hear its owner exit, or a thread that later reuses the ident would look
like the owner); in that case they stay after ``uninstall()``.  Threads already running by
then, and threads started with ``_thread.start_new_thread``, are not seen start or exit.
:class:`Thread` is ``threading.Thread`` (re-exported so ``snarl.sync`` covers every drop-in
name).
"""

from __future__ import annotations

import _thread
import functools
import threading
from typing import Any

from ..runtime.base import Abandon, current_runtime
from ..runtime.observer import OBSERVER

__all__ = ["Thread", "patch_thread", "thread_originals", "unpatch_thread"]

Thread = threading.Thread

_saved: dict[str, Any] = {}
_raw_saved: list[Any] = []  # _thread.start_new_thread's own function, while wrapped


def patch_thread() -> None:
    """Hook ``threading.Thread``'s start/exit and join (idempotent)."""
    if _saved:
        return
    native_boot = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]
    native_join = threading.Thread.join
    native_start = threading.Thread.start

    def _bootstrap_inner(self: threading.Thread) -> None:
        rt = current_runtime()
        try:
            # (not contextlib.suppress: it costs a microsecond a thread)
            try:  # noqa: SIM105
                rt.thread_started(self)
            except Exception:  # observing must never stop a thread
                pass
            try:
                native_boot(self)
            finally:
                try:  # noqa: SIM105
                    rt.thread_exited(self)
                except Exception:
                    pass
        except Abandon:  # the runtime unwound this thread before it ran: forget it
            _forget(self)
        except KeyError as exc:
            # Unwound inside threading's own bootstrap, before the thread was registered:
            # its cleanup then fails to unregister it.  Anything else is not ours.
            if not isinstance(exc.__context__, Abandon):
                raise
            _forget(self)

    @functools.wraps(native_start)
    def start(self: threading.Thread) -> None:
        """Start the thread (``threading.Thread.start``, announced to the runtime first)."""
        rt = current_runtime()
        rt.thread_starting(self)
        try:
            if not rt.start_thread(self):
                native_start(self)
        finally:
            rt.thread_start_returned(self)

    @functools.wraps(native_join)
    def join(self: threading.Thread, timeout: float | None = None) -> None:
        """Wait until the thread ends (``threading.Thread.join``, recorded as a join wait)."""
        if self is threading.current_thread() or not self._started.is_set():  # type: ignore[attr-defined]
            return native_join(self, timeout)  # let the native join raise its error
        current_runtime().join(self, timeout, native_join)

    native_start_new = _thread.start_new_thread

    @functools.wraps(native_start_new)
    def start_new_thread(*args: Any, **kwargs: Any) -> int:
        """``_thread.start_new_thread``: locks an ended thread left held under the new
        thread's ident are recorded as such (see ``ObserverRuntime.raw_thread_starting``)."""
        orphans = OBSERVER.raw_thread_starting()
        ident: int = native_start_new(*args, **kwargs)
        if orphans is not None:
            OBSERVER.raw_thread_started(ident, orphans)
        return ident

    _saved["_bootstrap_inner"] = native_boot
    _saved["join"] = native_join
    _saved["start"] = native_start
    _raw_saved.append(native_start_new)
    threading.Thread._bootstrap_inner = _bootstrap_inner  # type: ignore[attr-defined]
    threading.Thread.join = join  # type: ignore[method-assign]
    threading.Thread.start = start  # type: ignore[method-assign]
    _thread.start_new_thread = start_new_thread


def _forget(thread: threading.Thread) -> None:
    with threading._active_limbo_lock:  # type: ignore[attr-defined]
        threading._limbo.pop(thread, None)  # type: ignore[attr-defined]


_kept: list[bool] = []  # non-empty once tracked primitives needed the hooks: they stay


def _hook_for_tracking() -> None:
    if not _kept:
        patch_thread()
        _kept.append(True)
    OBSERVER.ensure_thread_hooks = None  # done for good: registering need not call again


OBSERVER.ensure_thread_hooks = _hook_for_tracking


def thread_originals() -> dict[str, Any]:
    """``threading.Thread``'s own methods that :func:`patch_thread` replaced, by name."""
    return dict(_saved)


def unpatch_thread() -> None:
    """Restore ``threading.Thread``'s own methods (threads already running keep reporting).

    Once tracked primitives exist the hooks stay: their owners' exits must still be heard.
    """
    if not _saved or _kept:
        return
    threading.Thread._bootstrap_inner = _saved.pop("_bootstrap_inner")  # type: ignore[attr-defined]
    threading.Thread.join = _saved.pop("join")  # type: ignore[method-assign]
    threading.Thread.start = _saved.pop("start")  # type: ignore[method-assign]
    _thread.start_new_thread = _raw_saved.pop()
