"""Bring the primitives made before an exploration under its control, and give them back.

An exploration controls what binds to its runtime (:data:`~snarl.runtime.exploration.EXPLORATION`):
everything made while it runs, and while the explorer loads the test file.  What was made
before is native (``_thread`` locks, ``threading``'s own classes before :func:`snarl.install`,
``queue.SimpleQueue``, which blocks in C) or bound to the observer, and would block for real:
a deadlock between two module-level locks would pass as "no failure", and a thread pool would
stall.  :class:`Takeover` finds them where programs keep them, and swaps or rebinds each:

* where: module globals, class attributes, function defaults (``lock_factory=threading.Lock``,
  bound at import), closure cells, and the attributes of objects (a module-level Queue, a
  logging handler's lock, ``functools.cached_property``'s lock); lists and tuples held there;
* native locks and RLocks (unlocked) become snarl's, one per native object (a Queue's mutex
  and its three Conditions stay one lock); factories (``_thread.allocate_lock``,
  ``threading.Lock`` as it was, the ``threading`` classes, ``queue.SimpleQueue``) become
  snarl's; ``threading``'s own Condition, Event, Semaphore, BoundedSemaphore and Barrier
  objects become snarl's in place (their class and state are replaced, their identity kept);
  snarl primitives bound to another runtime are rebound; a C ``SimpleQueue`` becomes
  ``queue``'s pure-Python one, items moved;
* while it lasts, ``_thread.allocate_lock()`` and ``_thread.RLock()`` called from user code
  make snarl's locks, and ``_thread.start_new_thread`` called from a managed thread starts a
  managed ``threading.Thread``.

Never touched: ``threading``'s and ``importlib``'s internals, snarl's own objects, threads
(their ``_tstate_lock``), and anything in use (a held lock, a Condition with waiters): those
are listed in :attr:`Takeover.uncontrolled`, so a verdict can say what it could not see.
Exit puts every swapped object back where it is idle, and leaves the snarl one where it is
in use (it still works, as a native lock, between explorations).
"""

from __future__ import annotations

import _thread
import gc
import queue
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from itertools import compress
from operator import attrgetter
from types import FunctionType, ModuleType
from typing import Any

from ..frames import gil_off, held_frames
from ..identity import caller_site
from ..runtime.exploration import EXPLORATION
from ..sync.condition import Condition
from ..sync.event import Barrier, Event
from ..sync.lock import Lock, RLock, _HookedLock, _HookedRLock
from ..sync.patch import originals
from ..sync.semaphore import BoundedSemaphore, Semaphore
from .fresh import ordered_hashes

__all__ = ["Takeover"]

_LOCK = type(_thread.allocate_lock())
_CRLOCK = _thread.RLock
_CSIMPLEQUEUE = queue.SimpleQueue
_PYSIMPLEQUEUE = queue._PySimpleQueue  # type: ignore[attr-defined]
_allocate_lock = _thread.allocate_lock
_start_new_thread = _thread.start_new_thread

_EXCLUDED = ("threading", "_thread", "importlib", "_frozen_importlib", "snarl", "_pytest",
             "pytest", "pluggy", "_weakrefset", "weakref", "sys", "builtins", "gc",
             "faulthandler", "abc", "typing", "site", "encodings", "_threading_local",
             "multiprocessing", "concurrent.futures.process")  # fmt: skip
"""Modules (and their sub-modules) whose objects are never changed: interpreter and snarl
machinery, and the test runner's own."""

_SNARL_TYPES = (Lock, _HookedLock, RLock, _HookedRLock, Condition)
_HASHABLE = (threading.Thread, Future)


_EXCLUDED_PREFIXES = tuple(m + "." for m in _EXCLUDED)
_excluded_names: dict[object, bool] = {}


def _excluded(module: object) -> bool:
    if type(module) is not str:
        return True
    found = _excluded_names.get(module)
    if found is None:
        found = _excluded_names[module] = module in _EXCLUDED or module.startswith(
            _EXCLUDED_PREFIXES
        )
    return found


_cell_contents = attrgetter("cell_contents")
_locals: dict[type, bool] = {}  # type -> whether it is a threading.local
_CONTAINERS = (list, tuple)


def _local_types() -> set[type]:
    """``_thread._local`` and every subclass of it defined so far."""
    found, todo = set(), [_thread._local]
    while todo:
        tp = todo.pop()
        if tp not in found:
            found.add(tp)
            todo.extend(tp.__subclasses__())
    return found


_OTHER, _INSTANCE, _FUNCTION, _CLASS, _MODULE, _SNARL, _HASHED = range(7)
_kinds: dict[type, int] = {}


def _kind_of(tp: type) -> int:
    """How the scan treats objects of type ``tp`` (decided once per type)."""
    if tp in _SNARL_TYPES:
        kind = _SNARL
    elif tp is FunctionType:
        kind = _FUNCTION
    elif tp is ModuleType:
        kind = _MODULE
    elif issubclass(tp, type):
        kind = _CLASS
    elif issubclass(tp, _HASHABLE):
        kind = _HASHED
    elif (
        tp.__dictoffset__
        and not _excluded(type.__dict__["__module__"].__get__(tp))  # (asked of no metaclass)
        and _own_dict(tp)
    ):
        kind = _INSTANCE
    else:
        kind = _OTHER
    _kinds[tp] = kind
    return kind


def _rlock_locked(lock: Any) -> bool:
    return _CRLOCK.__repr__(lock).startswith("<locked")


class Takeover:
    """Swap, rebind or convert the primitives made before an exploration (see the module
    docstring); a context manager.  ``user(filename)`` says which code is the program's."""

    def __init__(self, user: Callable[[str], bool]) -> None:
        self.user = user
        self.undo: list[Callable[[], None]] = []
        self.taken = 0
        self.uncontrolled: list[str] = []  # one line each: what stays outside control
        # whether the program keeps a threading.local where the scan looks (see _Runner)
        self.locals = False
        self._looking_at: Any = None  # the object the scan is in
        self._memo: dict[int, Any] = {}  # id(native object) -> its replacement
        self._keep: list[Any] = []  # the natives replaced (so their ids stay theirs)
        self._factories = self._factory_map()
        # The types worth a closer look (locks, SimpleQueues, threading's classes, containers,
        # thread-locals), and the ids of the factories swapped.
        self._types: set[type] = {_LOCK, _CRLOCK, _CSIMPLEQUEUE}
        self._types.update(self._native_classes)
        self._types.update(_local_types())
        self._ids = set(self._factories)

    # -- the whole scan -----------------------------------------------------------------------
    def __enter__(self) -> Takeover:
        self._patch_thread_module()
        collecting = gc.isenabled()
        gc.disable()  # (objects found must not be freed and their ids reused mid-scan)
        try:
            objects = _reachable() if gil_off() else gc.get_objects()
            later: list[Any] = []
            hashed: list[Any] = []  # threads and futures: they keep their hash (see fresh)
            kinds = _kinds
            # Most objects (tuples, dicts, frames, cells...) are of no interest: they are told
            # apart by their type in C, and only the others are looked at here.
            for tp in set(map(type, objects)).difference(kinds):
                _kind_of(tp)
            wanted = {tp for tp, kind in kinds.items() if kind != _OTHER}
            for obj in compress(objects, map(wanted.__contains__, map(type, objects))):
                try:
                    self._scan(obj, kinds[type(obj)], later, hashed)
                except Exception:  # an object that will not be read: left as it is
                    continue
            for obj in later:
                self._rebind(obj)
            ordered_hashes(hashed)
            del objects, later
        finally:
            if collecting:
                gc.enable()
        return self

    def _scan(self, obj: Any, kind: int, later: list[Any], hashed: list[Any]) -> None:
        """Look into one object the garbage collector tracks, of the given kind."""
        self._looking_at = obj  # (whose a threading.local found in it is: see _owned_by_user)
        if kind == _INSTANCE:
            d = _getattribute(obj, "__dict__")
            if type(d) is dict:
                self._namespace(d, type(obj).__name__)
        elif kind == _FUNCTION:
            if (obj.__defaults__ or obj.__kwdefaults__ or obj.__closure__) and not _excluded(
                obj.__module__
            ):
                self._function(obj)
        elif kind == _CLASS:
            if obj.__flags__ & _HEAPTYPE and not _excluded(obj.__module__):
                self._class(obj)
        elif kind == _MODULE:
            if not _excluded(obj.__name__):
                self._namespace(obj.__dict__, obj.__name__)
        elif kind == _SNARL:
            later.append(obj)  # after the locks they wrap have been rebound
        else:
            hashed.append(obj)

    def __exit__(self, *exc: object) -> None:
        while self.undo:
            self.undo.pop()()
        self._memo.clear()
        self._keep.clear()

    # -- where objects are kept ---------------------------------------------------------------
    def _worth(self, values: Any, inner: bool = False) -> bool:
        """Whether any of ``values`` (or of a list or tuple among them) may need replacing:
        told apart in C, in bulk, since most hold nothing of interest."""
        types = set(map(type, values))
        if not types.isdisjoint(self._types) or not self._ids.isdisjoint(map(id, values)):
            return True
        if inner or (list not in types and tuple not in types):
            return False
        return any(type(v) in _CONTAINERS and self._worth(v, True) for v in values)

    def _namespace(self, d: dict[str, Any], owner: str) -> None:
        if not self._worth(d.values()):
            return
        for key, value in list(d.items()):
            new = self._replacement(value, f"{owner}.{key}")
            if new is not None:
                d[key] = new
                self.undo.append(_restore_item(d, key, value, new))

    def _class(self, cls: type) -> None:
        attributes = _class_dict(cls)  # (not vars(): a metaclass could answer for it)
        if not self._worth(attributes.values()):
            return
        for key, value in list(attributes.items()):
            new = self._replacement(value, f"{cls.__qualname__}.{key}")
            if new is not None:
                type.__setattr__(cls, key, new)
                self.undo.append(_restore_attr(cls, key, value, new))

    def _function(self, fn: FunctionType) -> None:
        defaults = fn.__defaults__
        kwdefaults = fn.__kwdefaults__
        closure = fn.__closure__
        # Most functions hold nothing of interest: told in C, before any name is formatted.
        values = list(defaults or ())
        if kwdefaults:
            values.extend(kwdefaults.values())
        if closure:
            try:
                values.extend(map(_cell_contents, closure))
            except ValueError:  # an empty cell: the others one by one
                values.extend(_filled(closure))
        if not self._worth(values):
            return
        where = f"{fn.__module__}.{fn.__qualname__}"
        if defaults:
            new = self._sequence(defaults, where)
            if new is not None:
                fn.__defaults__ = new
                self.undo.append(_restore_attr(fn, "__defaults__", defaults, new))
        if kwdefaults:
            self._namespace(kwdefaults, where)
        for cell in closure or ():
            try:
                value = cell.cell_contents
            except ValueError:  # empty cell
                continue
            new = self._replacement(value, where)
            if new is not None:
                cell.cell_contents = new
                self.undo.append(_restore_attr(cell, "cell_contents", value, new))

    def _sequence(self, items: tuple[Any, ...], where: str) -> tuple[Any, ...] | None:
        news = [self._replacement(v, where) for v in items]
        if all(n is None for n in news):
            return None
        return tuple(v if n is None else n for v, n in zip(items, news, strict=True))

    def _replacement(self, value: Any, where: str) -> Any:
        """What ``value`` becomes, or None to leave it."""
        tp = type(value)
        if tp is list:
            if not self._worth(value, True):  # (most lists hold nothing of interest)
                return None
            for i, item in enumerate(value):
                new = self._replacement_of_item(item, f"{where}[{i}]")
                if new is not None:
                    value[i] = new
                    self.undo.append(_restore_item(value, i, item, new))
            return None
        if tp is tuple:
            return self._sequence(value, where) if self._worth(value, True) else None
        return self._replacement_of_item(value, where)

    def _replacement_of_item(self, value: Any, where: str) -> Any:
        tp = type(value)
        if tp is _LOCK or tp is _CRLOCK or tp is _CSIMPLEQUEUE:
            return self._native(value, where)
        if tp in self._native_classes:
            self._convert(value)
            return None
        factory = self._factories.get(id(value))
        if factory is not None and factory[0] is value:
            return factory[1]
        is_local = _locals.get(tp)
        if is_local is None:
            is_local = _locals[tp] = issubclass(tp, _thread._local)
        if is_local and not self.locals and self._owned_by_user():
            self.locals = True  # (where the program keeps it: not the stdlib's own)
        return None

    def _owned_by_user(self) -> bool:
        """Whether the object being scanned belongs to the program (its module's file is the
        user's), not to the standard library or an installed package (3.13.5's
        ``logging.Logger._tls``, say)."""
        obj = self._looking_at
        if isinstance(obj, ModuleType):
            name = obj.__name__
        elif isinstance(obj, (type, FunctionType)):
            name = obj.__module__
        else:
            name = type.__dict__["__module__"].__get__(type(obj))  # (asked of no metaclass)
        module = sys.modules.get(name) if type(name) is str else None
        filename = getattr(module, "__file__", None) if module is not None else None
        return type(filename) is str and self.user(filename)

    # -- replacing one object -----------------------------------------------------------------
    def _native(self, value: Any, where: str) -> Any:
        new = self._memo.get(id(value))
        if new is not None:
            return new
        name = where.rpartition(".")[2] or where
        tp = type(value)
        if tp is _LOCK:
            if value.locked():
                self.uncontrolled.append(f"a lock held when the exploration began ({where})")
                return None
            new = Lock(name=name)
        elif tp is _CRLOCK:
            if _rlock_locked(value):
                self.uncontrolled.append(f"an RLock held when the exploration began ({where})")
                return None
            new = RLock(name=name)
        else:
            new = _PYSIMPLEQUEUE()
            _move(value, new)
        self._memo[id(value)] = new
        self._keep.append(value)
        self.taken += 1
        return new

    def _factory_map(self) -> dict[int, tuple[Any, Any]]:
        found = originals()
        pairs = [
            (_thread.allocate_lock, Lock),
            (_LOCK, Lock),
            (_CRLOCK, RLock),
            (found.get("Lock", threading.Lock), Lock),
            (found.get("RLock", threading.RLock), RLock),
            (_CSIMPLEQUEUE, _PYSIMPLEQUEUE),
        ]
        self._native_classes: dict[type, type] = {}
        for name, snarl_class in (
            ("Condition", Condition),
            ("Semaphore", Semaphore),
            ("BoundedSemaphore", BoundedSemaphore),
            ("Event", Event),
            ("Barrier", Barrier),
        ):
            native = found.get(name, getattr(threading, name))
            if native is not snarl_class:
                pairs.append((native, snarl_class))
                self._native_classes[native] = snarl_class
        return {id(native): (native, new) for native, new in pairs if native is not new}

    def _lock_for(self, lock: Any, where: str) -> Any:
        """The controlled lock standing for ``lock`` (a Condition's), or None if it cannot."""
        if type(lock) in (_LOCK, _CRLOCK):
            return self._native(lock, where)
        if isinstance(lock, Lock | RLock):
            return lock if self._rebind(lock) else None
        return None

    def _convert(self, obj: Any) -> None:
        """A ``threading`` Condition, Event, Semaphore or Barrier becomes snarl's, in place."""
        if id(obj) in self._memo:
            return
        self._memo[id(obj)] = obj
        snarl_class = self._native_classes[type(obj)]
        state = obj.__dict__
        cond = obj if snarl_class is Condition else state.get("_cond")
        where = type(obj).__name__
        if cond is None or cond._waiters:
            self.uncontrolled.append(f"a {where} with waiters when the exploration began")
            return
        lock = self._lock_for(cond._lock, where) if snarl_class is Condition else cond._lock
        if lock is None or (lock is cond._lock and _in_use(lock)):
            self.uncontrolled.append(f"a {where} whose lock was held when the exploration began")
            return
        if snarl_class is Condition:
            fresh: Any = Condition(lock)
        elif snarl_class is Event:
            fresh = Event()
            fresh._flag = state["_flag"]
        elif snarl_class is Barrier:
            if state["_count"] or state["_state"]:
                self.uncontrolled.append("a Barrier in use when the exploration began")
                return
            fresh = Barrier(state["_parties"], state["_action"], state["_timeout"])
        else:
            fresh = snarl_class(state.get("_initial_value", 1))
            fresh._value = state["_value"]
        saved, native_class = dict(state), type(obj)
        state.clear()
        state.update(fresh.__dict__)
        obj.__class__ = snarl_class
        self.taken += 1

        def restore() -> None:
            if obj.__class__ is snarl_class and _idle(obj):
                state.clear()
                state.update(saved)
                obj.__class__ = native_class

        self.undo.append(restore)

    def _rebind(self, prim: Any) -> bool:
        """A snarl primitive bound to another runtime is bound to the exploration's; False if
        it is in use (then it stays as it is)."""
        if prim._rt is EXPLORATION:
            return True
        if isinstance(prim, Condition):
            lock = prim._lock
            if prim._waiters or (isinstance(lock, Lock | RLock) and not self._rebind(lock)):
                return False
            old = prim._rt
            prim._rt = EXPLORATION
            fast = prim.__dict__.get("_fast")
            if fast is not None:
                prim._fast = lock._inner

            def restore_condition() -> None:
                if not prim._waiters:
                    prim._rt = old
                    if fast is not None:
                        prim._fast = prim._lock._inner

            self.undo.append(restore_condition)
            return True
        if prim.locked():
            return False
        old_rt, old_inner, old_class = prim._rt, prim._inner, type(prim)
        prim._rt = EXPLORATION
        if isinstance(prim, RLock):
            prim._inner = EXPLORATION.allocate_rlock()
            prim.__class__ = RLock
        else:
            prim._inner = EXPLORATION.allocate_lock()
            prim.__class__ = Lock
        self.taken += 1

        def restore_lock() -> None:
            if not prim.locked():
                prim._rt, prim._inner, prim.__class__ = old_rt, old_inner, old_class

        self.undo.append(restore_lock)
        return True

    # -- _thread, while the exploration lasts -------------------------------------------------
    def _patch_thread_module(self) -> None:
        user = self.user

        def allocate_lock() -> Any:
            if user(sys._getframe(1).f_code.co_filename):
                return Lock(_site=caller_site(2))
            return _allocate_lock()

        def rlock(*args: Any, **kwargs: Any) -> Any:
            if user(sys._getframe(1).f_code.co_filename):
                return RLock(_site=caller_site(2))
            return _CRLOCK(*args, **kwargs)

        def start_new_thread(function: Any, args: Any, kwargs: Any = None) -> int:
            if EXPLORATION.me() is None:
                return _start_new_thread(function, args, *(() if kwargs is None else (kwargs,)))
            thread = threading.Thread(target=function, args=args, kwargs=kwargs, daemon=True)
            thread.start()
            return thread.ident  # type: ignore[return-value]

        for name, fn in (
            ("allocate_lock", allocate_lock),
            ("allocate", allocate_lock),
            ("RLock", rlock),
            ("start_new_thread", start_new_thread),
            ("start_new", start_new_thread),
        ):
            if hasattr(_thread, name):
                original = getattr(_thread, name)
                setattr(_thread, name, fn)
                self.undo.append(_restore_attr(_thread, name, original, fn))


_HEAPTYPE = 1 << 9
_class_dict = type.__dict__["__dict__"].__get__


_getattribute = object.__getattribute__


def _reachable() -> list[Any]:
    """Every object reachable from the modules and the threads' frames, for a free-threaded
    build, where ``gc.get_objects()`` cannot be trusted: on CPython 3.13t it leaves out most
    objects once a thread has exited (measured: the ``__main__`` module among them).  The walk
    goes through ``gc.get_referents``, a batch at a time."""
    with held_frames() as reading:  # (the other threads parked while their frames are read)
        roots: list[Any] = [sys.modules, *reading.frames.values()]
        seen = {id(o) for o in roots}
        found: list[Any] = list(roots)
        frontier = roots
        while frontier:  # (each step in C: map, zip, dict and set operations)
            refs = gc.get_referents(*frontier)
            by_id = dict(zip(map(id, refs), refs, strict=True))
            new = by_id.keys() - seen
            seen |= new
            frontier = list(map(by_id.__getitem__, new))
            found.extend(frontier)
            del refs, by_id
        del roots, frontier, reading
    return found


def _filled(closure: tuple[Any, ...]) -> list[Any]:
    """The contents of the cells of ``closure`` that are not empty."""
    found = []
    for cell in closure:
        try:
            found.append(cell.cell_contents)
        except ValueError:
            continue
    return found


def _own_dict(tp: type) -> bool:
    """Whether reading ``__dict__`` on a ``tp`` runs no user code (the type's own slot)."""
    for klass in tp.__mro__:
        found = klass.__dict__.get("__dict__")
        if found is not None:
            return type(found).__name__ == "getset_descriptor"
    return False


def _idle(obj: Any) -> bool:
    cond = obj if isinstance(obj, Condition) else getattr(obj, "_cond", None)
    if cond is None:
        return True
    lock = cond._lock
    return not cond._waiters and not (hasattr(lock, "locked") and lock.locked())


def _in_use(new: Any) -> bool:
    locked = getattr(new, "locked", None)
    if callable(locked) and not isinstance(new, type):
        try:
            return bool(locked())
        except Exception:
            return True
    return False


def _restore_item(container: Any, key: Any, old: Any, new: Any) -> Callable[[], None]:
    def restore() -> None:
        try:
            current = container[key]
        except (KeyError, IndexError):
            return
        if current is new and not _in_use(new):
            if type(new) is _PYSIMPLEQUEUE:
                _move(new, old)
            container[key] = old

    return restore


def _restore_attr(obj: Any, name: str, old: Any, new: Any) -> Callable[[], None]:
    def restore() -> None:
        if getattr(obj, name, None) is new and not _in_use(new):
            if isinstance(obj, type):
                type.__setattr__(obj, name, old)
            else:
                setattr(obj, name, old)

    return restore


def _move(source: Any, target: Any) -> None:
    """Move every item of one SimpleQueue into another, in order."""
    while True:
        try:
            item = source.get_nowait()
        except queue.Empty:
            return
        target.put(item)
