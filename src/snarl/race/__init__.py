"""snarl race: a happens-before data race detector for Python code (``go test -race`` for Python).

Design
------
A *data race* is two accesses to the same location from two threads, at least one a write,
with no happens-before order between them.  The detector finds one in a single ordinary run,
whatever the timing, because it checks the order, not the outcome.

* **Accesses** come from rewriting user modules' ASTs at import (:mod:`.rewrite`,
  :mod:`.importer`; modules already imported are recompiled and their functions' code swapped,
  :mod:`.retrofit`).  Each attribute, shared global, ``nonlocal`` cell, subscript and container
  operation becomes a call into :mod:`.shadow` that checks the access and returns the object;
  the access itself then runs natively.  Why not ``sys.monitoring``: it has no event for an
  attribute or subscript access (only per-instruction events, which cost far more than a call),
  and it does not exist before 3.12; ``settrace`` opcode events cost 50-100x.  The rewrite
  runs on 3.10-3.13 alike, and on free-threaded builds.
* **Happens-before** comes from snarl's primitives (an :class:`~snarl.runtime.instruments.
  Instrument` hears every Lock/RLock acquire and release, under which Condition, Semaphore,
  Event, Barrier, ``queue.Queue`` and ``Future`` are built), ``threading.Thread`` start, run and
  join, and ``queue.SimpleQueue`` (:mod:`.detector`).
* **The engine** (:mod:`.clock`, :mod:`.shadow`) keeps a vector clock per thread and FastTrack
  epochs per location (a write is one int, reads one int until unordered threads share them),
  so the common access is O(1).  Shadow state lives in per-object tables keyed by ``id()`` and
  goes when the object does (a weakref callback, or a sweep of unreferenced built-in
  containers).  While only one thread runs (all others joined), checks are skipped: such
  accesses are ordered before anything another thread does later.
* **Reports** (:mod:`.report`): each distinct pair of lines once, Go-style text or JSON, both
  accesses with their thread, where it was started and the locks it held (the earlier access's
  callers only with ``history``), and a summary that says what was checked and what could not
  be seen.
* **Entry points**: :func:`races` (``with snarl.races() as r:``), :func:`run_program` (``snarl
  race``, ``snarl run --races``), and ``pytest --snarl-races`` (:mod:`snarl.pytest_races`).

Measured (``benchmarks/RESULTS.md``): every race of the 24 programs in ``benchmarks/races/``
found in one run, none reported on their synchronised twins; 3-10x native time on attribute-
and dict-heavy code, thread pools and lock-heavy code on 3.12+ with the GIL (4-15x on
3.10/3.11), 22-26x on dicts every thread reads and writes, about 670 bytes per tracked object;
20-580x on the free-threaded build when threads share data (shared dict reads contend there).
The rewrite leaves out what cannot race (locals, names bound once, containers that never leave
their frame, a repeated check with no call between: :mod:`.scopes`).

Semantics (locations, atomic operations, the happens-before sources) are in ``docs/races.md``.
"""

from __future__ import annotations

from .report import Access, Frame, Race, Summary
from .session import RaceError, Races, races, read_suppressions, run_program

__all__ = [
    "Access",
    "Frame",
    "Race",
    "RaceError",
    "Races",
    "Summary",
    "races",
    "read_suppressions",
    "run_program",
]
