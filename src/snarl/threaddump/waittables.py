"""The tables of known waits: which C calls block, which standard-library frames wait and on
what, built from the modules already imported (a dump never imports anything) and rebuilt
only when that set changes.  :mod:`snarl.threaddump.waits` reads a thread's frames with them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from .safe import mro

__all__ = ["LOCK_KINDS", "Tables", "TypeTable", "tables"]

LOCK_KINDS = frozenset({"lock", "rlock"})


@dataclass(frozen=True, slots=True)
class _FrameRule:
    kind: str
    inner: frozenset[int]  # ids of the codes just inside that continue the chain
    via: frozenset[str]  # kinds of a C (or snarl) call at this frame that start the chain


class Tables:
    __slots__ = (
        "c_funcs",
        "c_methods",
        "conditions",
        "frames",
        "idle_loops",
        "keep",
        "lock_types",
        "work_item_run",
        "worker",
    )

    def __init__(self) -> None:
        mods = sys.modules
        import _thread
        import time

        self.lock_types = TypeTable({_thread.LockType: "lock", _thread.RLock: "rlock"})
        threading = mods.get("threading")
        # Condition types whose `with` holds their lock: threading's own and snarl's, whichever
        # threading.Condition names now (filled below, once install() has been seen through).
        self.conditions = TypeTable(exact=True)
        if threading is not None:
            py_rlock = getattr(threading, "_PyRLock", None)
            if isinstance(py_rlock, type):
                self.lock_types[py_rlock] = "rlock"
        self.c_funcs: dict[int, str] = {id(time.sleep): "sleep"}
        for name in ("read", "write", "waitpid", "wait", "waitid", "wait3", "wait4"):
            fn = getattr(os, name, None)
            if fn is not None:
                self.c_funcs[id(fn)] = "io"
        self.c_methods = TypeTable(
            {
                _thread.LockType: {"acquire": "lock", "acquire_lock": "lock", "__enter__": "lock"},
                _thread.RLock: {"acquire": "rlock", "__enter__": "rlock"},
            },
            exact=True,
        )
        shutdown = getattr(_thread, "_shutdown", None)  # 3.13: the main thread joining at exit
        if shutdown is not None:
            self.c_funcs[id(shutdown)] = "thread-join"
        handle = getattr(_thread, "_ThreadHandle", None)
        if handle is not None:
            self.c_methods[handle] = {"join": "thread-join"}
        io_methods = dict.fromkeys(
            ("read", "read1", "readinto", "readline", "readlines", "write", "flush"), "io"
        )
        io = mods.get("_io")
        if io is not None:
            for tname in ("BufferedReader", "BufferedRandom", "BufferedRWPair", "FileIO"):
                tp = getattr(io, tname, None)
                if tp is not None:
                    self.c_methods[tp] = io_methods
            tp = getattr(io, "TextIOWrapper", None)
            if tp is not None:
                self.c_methods[tp] = io_methods
        qmod = mods.get("_queue")
        if qmod is not None:
            self.c_methods[qmod.SimpleQueue] = {"get": "queue-get", "put": "queue-put"}
        select = mods.get("select")
        if select is not None:
            self.c_funcs[id(select.select)] = "io"
            for tname in ("epoll", "devpoll", "kqueue"):
                tp = getattr(select, tname, None)
                if tp is not None:
                    self.c_methods[tp] = {"poll": "io", "control": "io"}
            if hasattr(select, "poll"):
                self.c_methods[type(select.poll())] = {"poll": "io"}
        socket_mod = mods.get("_socket")
        if socket_mod is not None:
            self.c_methods[socket_mod.socket] = dict.fromkeys(
                (
                    "recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg", "send",
                    "sendall", "sendto", "sendmsg", "connect", "_accept",
                ),
                "io",
            )  # fmt: skip
        signal = mods.get("signal")
        if signal is not None:
            for name in ("pause", "sigwait", "sigtimedwait", "sigwaitinfo"):
                fn = getattr(signal, name, None)
                if fn is not None:
                    self.c_funcs[id(fn)] = "io"
        ssl = mods.get("_ssl")
        if ssl is not None:
            self.c_methods[ssl._SSLSocket] = {"read": "io", "write": "io", "do_handshake": "io"}

        # Keyed by id(code): hashing a code object hashes its constants on every lookup.  The
        # codes stay alive in `keep`, so their ids cannot be reused while the tables exist.
        self.frames: dict[int, _FrameRule] = {}
        self.idle_loops: set[int] = set()
        self.keep: list[Any] = []
        self.work_item_run: Any = None
        self.worker: Any = None  # concurrent.futures.thread._worker's code
        # threading's own classes, even while snarl.install() has replaced the names.
        patch = mods.get("snarl.sync.patch")
        originals: dict[str, Any] = patch.originals() if patch is not None else {}
        std = _Std(threading, originals)
        condition = originals.get("Condition", getattr(threading, "Condition", None))
        if isinstance(condition, type):
            self.conditions.add(condition)
        if threading is not None:
            self._threading_rules(std)
        cwait, ewait = std.code("Condition", "wait"), std.code("Event", "wait")
        queue = mods.get("queue")
        if queue is not None:
            for meth, kind in (("get", "queue-get"), ("put", "queue-put"), ("join", "queue-join")):
                self._add(self._code(queue, "Queue", meth), kind, {cwait}, {"condition"})
        futures = mods.get("concurrent.futures._base")
        if futures is not None:
            for meth in ("result", "exception"):
                code = self._code(futures, "Future", meth)
                self._add(code, "future-result", {cwait}, {"condition"})
            for fname in ("wait", "as_completed"):
                fn = getattr(futures, fname, None)
                if fn is not None:
                    self._add(fn.__code__, "future-result", {ewait}, {"event"})
        self._snarl_types(mods, threading)
        worker = mods.get("concurrent.futures.thread")
        if worker is not None:
            self.work_item_run = self._code(worker, "_WorkItem", "run")
            fn = getattr(worker, "_worker", None)
            if fn is not None:
                self._idle(fn.__code__)
                self.worker = fn.__code__
        base_events = mods.get("asyncio.base_events")
        if base_events is not None:
            self._idle(self._code(base_events, "BaseEventLoop", "_run_once"))
        socketserver = mods.get("socketserver")
        if socketserver is not None:
            self._idle(self._code(socketserver, "BaseServer", "serve_forever"))

    @staticmethod
    def _code(module: Any, cls: str, meth: str) -> Any:
        klass = getattr(module, cls, None)
        fn = getattr(klass, meth, None) if klass is not None else None
        return getattr(fn, "__code__", None)

    def _add(self, code: Any, kind: str, inner: Any, via: Any = ()) -> None:
        if code is not None:
            self.keep.append(code)
            inner_ids = frozenset(id(c) for c in inner if c)
            self.frames[id(code)] = _FrameRule(kind, inner_ids, frozenset(via))

    def _idle(self, code: Any) -> None:
        if code is not None:
            self.keep.append(code)
            self.idle_loops.add(id(code))

    def _threading_rules(self, std: _Std) -> None:
        lock = LOCK_KINDS
        cwait, cwait_for = std.code("Condition", "wait"), std.code("Condition", "wait_for")
        self._add(cwait, "condition", (), lock)
        self._add(cwait_for, "condition", {cwait}, {"condition"})
        self._add(std.code("Event", "wait"), "event", {cwait, cwait_for}, {"condition"})
        self._add(std.code("Semaphore", "acquire"), "semaphore", {cwait}, {"condition"})
        benter, bwait_ = std.code("Barrier", "_enter"), std.code("Barrier", "_wait")
        self._add(benter, "barrier", {cwait}, {"condition"})
        self._add(bwait_, "barrier", {cwait_for}, {"condition"})
        self._add(std.code("Barrier", "wait"), "barrier", {benter, bwait_})
        tstate = std.code("Thread", "_wait_for_tstate_lock")
        self._add(tstate, "thread-join", (), lock)
        self._add(std.code("Thread", "join"), "thread-join", {tstate}, {"thread-join"})
        shutdown = getattr(std.threading, "_shutdown", None)
        if hasattr(shutdown, "__code__"):  # 3.10-3.12: the main thread joining at exit
            self._add(shutdown.__code__, "thread-join", (), lock | {"thread-join"})
        self._add(std.code("_PyRLock", "acquire"), "rlock", (), lock)

    def _snarl_types(self, mods: dict[str, Any], threading: Any) -> None:
        """snarl's own primitives: their frames are hidden, so their callers show the wait."""
        wait_kinds = {
            ("snarl.sync.lock", "Lock"): {"acquire": "lock", "__enter__": "lock"},
            ("snarl.sync.lock", "RLock"): {"acquire": "rlock", "__enter__": "rlock"},
            ("snarl.sync.condition", "Condition"): {"wait": "condition", "wait_for": "condition"},
            ("snarl.sync.semaphore", "Semaphore"): {
                "acquire": "semaphore",
                "__enter__": "semaphore",
            },
            ("snarl.sync.event", "Event"): {"wait": "event"},
            ("snarl.sync.event", "Barrier"): {"wait": "barrier"},
        }
        for (module, name), methods in wait_kinds.items():
            cls = getattr(mods.get(module), name, None)
            if isinstance(cls, type):
                self.c_methods[cls] = methods
                if name in ("Lock", "RLock"):
                    self.lock_types[cls] = methods["acquire"]  # their `with` holds them
                elif name == "Condition":
                    self.conditions.add(cls)
        if "snarl.sync.thread" in mods and threading is not None:
            # Thread.join is Python: a frame parked on `t.join()` means snarl's hook was hidden.
            self.c_methods[threading.Thread] = {"join": "thread-join"}


class _Std:
    """``threading``'s own objects by name, looked through snarl's install() replacements."""

    def __init__(self, threading: Any, originals: dict[str, Any]) -> None:
        self.threading = threading
        self.originals = originals

    def code(self, cls: str, meth: str) -> Any:
        fn = self.originals.get(f"{cls}.{meth}")
        if fn is None:
            klass = self.originals.get(cls, getattr(self.threading, cls, None))
            fn = getattr(klass, meth, None) if klass is not None else None
        return getattr(fn, "__code__", None)


_tables_cache: tuple[frozenset[str], Tables] | None = None
_WATCHED = frozenset(
    {
        "threading", "queue", "_queue", "select", "_socket", "signal", "_ssl", "_io",
        "concurrent.futures._base", "concurrent.futures.thread", "asyncio.base_events",
        "socketserver", "snarl.sync.lock", "snarl.sync.condition", "snarl.sync.semaphore",
        "snarl.sync.event", "snarl.sync.thread", "snarl.sync.patch",
    }
)  # fmt: skip


def tables() -> Tables:
    """The wait tables for the modules imported now (rebuilt only when that set changes)."""
    global _tables_cache
    loaded = frozenset(name for name in _WATCHED if name in sys.modules)
    cached = _tables_cache
    if cached is not None and cached[0] == loaded:
        return cached[1]
    built = Tables()
    _tables_cache = (loaded, built)
    return built


class TypeTable:
    """A table keyed by type that also answers for subclasses of its keys (read through the
    MRO's C slot, never a metaclass), remembering each answer: snarl's hooked locks (the
    lock-order validator's) and classes a timeline recording swaps in are subclasses of the
    registered Lock and RLock, and must count as them.

    Types are looked up by ``id()`` and checked with ``is``: a type is never hashed nor
    compared (a user's metaclass may define ``__hash__`` or ``__eq__``).  ``exact=True``
    answers for the keys themselves only (no subclasses).
    """

    __slots__ = ("_by_id", "_exact")

    def __init__(self, items: dict[type, Any] | None = None, *, exact: bool = False) -> None:
        self._by_id: dict[int, tuple[type, Any]] = {}
        self._exact = exact
        for tp, value in (items or {}).items():
            self[tp] = value

    def __setitem__(self, tp: type, value: Any) -> None:
        self._by_id[id(tp)] = (tp, value)
        if not self._exact:  # remembered answers for subclasses may have changed
            for key, (_known, found) in list(self._by_id.items()):
                if found is None:
                    del self._by_id[key]

    def add(self, tp: type) -> None:
        """Register ``tp`` with the value True (the table used as a set)."""
        self[tp] = True

    def _find(self, tp: Any) -> Any:
        entry = self._by_id.get(id(tp))
        if entry is not None and entry[0] is tp:
            return entry[1]
        if self._exact or not isinstance(tp, type):
            return None
        value = None
        for base in mro(tp)[1:]:
            found = self._by_id.get(id(base))
            if found is not None and found[0] is base and found[1] is not None:
                value = found[1]
                break
        self._by_id[id(tp)] = (tp, value)  # None remembers "not one of ours" too
        return value

    def __contains__(self, tp: object) -> bool:
        return self._find(tp) is not None

    def get(self, tp: Any, default: Any = None) -> Any:
        """The value for ``tp`` (or its nearest registered base), else ``default``."""
        value = self._find(tp)
        return default if value is None else value

    def __getitem__(self, tp: Any) -> Any:
        value = self._find(tp)
        if value is None:
            raise KeyError(id(tp))
        return value
