"""Where a primitive was created, and the name its creating line gives it.

A :class:`Site` is a code object plus a byte offset (``f_lasti``).  It is cheap to take (two
attribute reads on the caller's frame) and everything else is computed only when asked:

* :attr:`Site.filename`, :attr:`Site.lineno`: the source position;
* :func:`infer_name`: the name the creating line stores the new object under.  The instruction
  after the constructor call is read: ``blocker = Lock()`` stores to ``blocker``;
  ``self._lock = Lock()`` loads ``self`` and stores attribute ``_lock``, giving ``self._lock``.
  Anything else (a call argument, a subscript, a tuple unpack) gives ``None``.

A site is hashable and compares by (code, offset), so it serves as the lockdep "class" of the
primitives created there.  This module imports nothing of snarl.
"""

from __future__ import annotations

import dis
import os
import sys
from types import CodeType, FrameType
from typing import Any

__all__ = ["INTERNAL_FILES", "Site", "caller_site", "infer_name", "line_of"]

_lines: dict[tuple[CodeType, int], int | None] = {}
_names: dict[tuple[CodeType, int], str | None] = {}
_instrs: dict[CodeType, tuple[list[dis.Instruction], dict[int, int]]] = {}
_STORES = {"STORE_NAME", "STORE_FAST", "STORE_GLOBAL", "STORE_DEREF"}
_LOADS = {"LOAD_NAME", "LOAD_FAST", "LOAD_GLOBAL", "LOAD_DEREF", "LOAD_FAST_CHECK"}
_HERE = os.path.dirname(os.path.abspath(__file__))
# The modules of snarl.sync and snarl.runtime, by name: not listed from their folders, which a
# process that runs snarl from another user's installation (a root dump injected into it) may
# not be allowed to read.  tests/unit/test_identity.py checks these against the folders.
SYNC_MODULES = (
    "__init__", "_base", "condition", "event", "lock", "patch", "rlock", "semaphore", "thread",
)  # fmt: skip
RUNTIME_MODULES = (
    "__init__", "base", "controlled", "exploration", "instruments", "observed", "observer",
    "records", "scheduler", "simlock", "virtualtime", "workers",
)  # fmt: skip
# The source files of snarl.sync (frames there are skipped when looking for a creation site).
# Interned sites keep their code objects alive, so an id() in a key is never reused.
_sync_files = frozenset(os.path.join(_HERE, "sync", f"{name}.py") for name in SYNC_MODULES)
_sites: dict[tuple[int, int], Site] = {}
INTERNAL_FILES = _sync_files | frozenset(
    os.path.join(_HERE, "runtime", f"{name}.py") for name in RUNTIME_MODULES
)
"""Source files of snarl.sync and snarl.runtime: frames there are snarl's machinery, not the
program's (a thread blocked in a tracked lock has two or three of them on top; a dump should
hide them and take the wait from ``tracked_state()``)."""


class Site:
    """A position in code: ``code`` at byte offset ``lasti``; hashable, cheap to create."""

    __slots__ = ("code", "key", "lasti")

    def __init__(self, code: CodeType, lasti: int) -> None:
        self.code = code
        self.lasti = lasti
        # An int standing for (code, lasti): cheap to hash in hot paths.  The Site keeps the
        # code object alive, so its id is not reused while the key is in use.
        self.key = hash((id(code), lasti))

    @property
    def filename(self) -> str:
        """The file of the code object."""
        return self.code.co_filename

    @property
    def lineno(self) -> int | None:
        """The source line of the instruction (None if the compiler recorded none)."""
        return line_of(self.code, self.lasti)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Site) and self.code is other.code and self.lasti == other.lasti

    def __hash__(self) -> int:
        return self.key

    def __str__(self) -> str:
        return f"{os.path.basename(self.filename)}:{self.lineno}"

    def __repr__(self) -> str:
        return f"Site({self.filename}:{self.lineno} in {self.code.co_name})"


def line_of(code: CodeType, lasti: int) -> int | None:
    """The source line of the instruction at byte offset ``lasti`` of ``code`` (cached)."""
    key = (code, lasti)
    try:
        return _lines[key]
    except KeyError:
        pass
    line = None
    for start, end, lineno in code.co_lines():
        if start <= lasti < end:
            line = lineno
            break
    _lines[key] = line
    return line


def caller_site(
    depth: int = 2, _getframe: Any = sys._getframe, _sites: Any = _sites, _id: Any = id
) -> Site:
    """The site of the first frame at least ``depth`` up that is not in ``snarl.sync``.

    Skipping snarl's own primitives means a Lock made inside ``Condition()`` is attributed to
    the line that made the Condition.  Sites are interned: one object per (code, offset).
    (Every primitive's constructor calls this: the defaults make its globals locals.)
    """
    f: FrameType | None = _getframe(depth)
    code = f.f_code
    if code.co_filename in _sync_files:
        while f is not None and f.f_code.co_filename in _sync_files:
            f = f.f_back
        if f is None:  # only snarl frames: attribute to the outermost one
            f = _getframe(depth)
        code = f.f_code
    key = (_id(code), f.f_lasti)
    site = _sites.get(key)
    if site is None:
        site = _sites[key] = Site(code, key[1])
    return site


def infer_name(site: Site) -> str | None:
    """The name the instruction after the call at ``site`` stores the result under, or None."""
    key = (site.code, site.lasti)
    try:
        return _names[key]
    except KeyError:
        pass
    name = None
    try:
        name = _read_store(site.code, site.lasti)
    except Exception:  # an unexpected bytecode shape: say unknown, never fail
        name = None
    _names[key] = name
    return name


def _read_store(code: CodeType, lasti: int) -> str | None:
    entry = _instrs.get(code)
    if entry is None:
        instrs = [i for i in dis.get_instructions(code) if i.opname != "CACHE"]
        entry = _instrs[code] = (instrs, {ins.offset: n for n, ins in enumerate(instrs)})
    instrs, index = entry
    n = index.get(lasti)
    if n is None:
        return None
    rest = instrs[n + 1 : n + 8]
    if not rest:
        return None
    first = rest[0]
    if first.opname in _STORES:
        return str(first.argval)
    if first.opname not in _LOADS:
        return None
    parts = [str(first.argval)]
    for ins in rest[1:]:
        if ins.opname == "LOAD_ATTR":
            parts.append(str(ins.argval))
        elif ins.opname == "STORE_ATTR":
            parts.append(str(ins.argval))
            return ".".join(parts)
        else:
            return None
    return None
