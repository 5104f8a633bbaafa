"""A suite of classic concurrency bugs, each with a fixed twin, for comparing explorers.

One module per pattern.  Each has a docstring naming the pattern and the bug, ``buggy()`` and
``fixed()`` (no-argument test functions: they create their own locks, Conditions and queues,
start ``threading.Thread``s, join them and assert), ``GRANULARITY`` (the coarsest snarl
granularity at which the bug can show), ``SWITCH`` (what makes the bad switch possible at that
granularity: a synchronisation operation, a ``time.sleep(0)``, a call, a line boundary or a
bytecode boundary) and ``EXPECT`` (the failure kind snarl should report).  Where the program
fits frontrun's shape (state, one function per thread, an invariant), ``BUGGY`` and ``FIXED``
hold it as a :class:`Program`; otherwise ``WHY_NOT_WORKERS`` says why not.

Modules may also say ``CLASS``, the class of bug they stand for (:data:`CLASSES`: what the
explorer must handle to find it, for grouping rows), and ``INCLUDE``, a package whose code is
library code that the explorer must be told to treat as the user's to find the bug
(``library_code``).  Modules without them have ``None``.

:data:`BUGS` lists them all.  Stdlib only: the peers' adapters import this package too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from . import (
    abba,
    barrier,
    bounded_queue,
    check_then_act,
    default_arg_lock,
    dict_iteration,
    double_checked,
    event_pulse,
    executor,
    if_not_while,
    import_time_lock,
    iteration,
    join_under_lock,
    lazy_singleton,
    library_code,
    livelock,
    lost_update,
    lost_wakeup,
    missing_notify,
    module_lock,
    notify_one,
    one_sided_lock,
    order_dependent,
    philosophers,
    private_lock,
    racy_increment,
    rlock_release,
    rmw_two_lines,
    rw_lock,
    self_deadlock,
    semaphore_leak,
    simple_queue,
    singleton_check_then_create,
    sleep_sync,
    stale_flag,
    toctou,
    torn_pair,
    try_lock,
    two_locks_one_balance,
    unlocked_increment_global,
)
from ._harness import Program

__all__ = ["BUGS", "CLASSES", "Bug", "Program", "by_name"]

CLASSES = (
    "executor",
    "simple-queue",
    "module-lock",
    "import-time-lock",
    "default-arg-lock",
    "try-lock",
    "sleep-sync",
    "data-race",
    "library",
)
"""The values of a module's ``CLASS``."""


@dataclass(frozen=True)
class Bug:
    """One pattern of the suite."""

    name: str
    pattern: str  # the module docstring's first line
    buggy: Callable[[], None]
    fixed: Callable[[], None]
    granularity: str  # "sync", "line", "bytecode" or "gil"
    switch: str
    expect: str  # "deadlock", "assertion", "exception" or "livelock"
    buggy_program: Program | None
    fixed_program: Program | None
    why_not_workers: str | None
    klass: str | None = None  # the module's CLASS (one of CLASSES), if it says
    include: str | None = None  # the module's INCLUDE: a package to treat as user code

    @classmethod
    def of(cls, module: ModuleType) -> Bug:
        doc = (module.__doc__ or "").strip()
        return cls(
            name=module.__name__.rsplit(".", 1)[-1],
            pattern=doc.split("\n\n", 1)[0].replace("\n", " "),
            buggy=module.buggy,
            fixed=module.fixed,
            granularity=module.GRANULARITY,
            switch=module.SWITCH,
            expect=module.EXPECT,
            buggy_program=getattr(module, "BUGGY", None),
            fixed_program=getattr(module, "FIXED", None),
            why_not_workers=getattr(module, "WHY_NOT_WORKERS", None),
            klass=getattr(module, "CLASS", None),
            include=getattr(module, "INCLUDE", None),
        )


BUGS: list[Bug] = [
    Bug.of(m)
    for m in (
        abba,
        philosophers,
        lost_update,
        check_then_act,
        double_checked,
        lost_wakeup,
        if_not_while,
        notify_one,
        join_under_lock,
        bounded_queue,
        missing_notify,
        semaphore_leak,
        barrier,
        self_deadlock,
        rlock_release,
        rw_lock,
        event_pulse,
        stale_flag,
        one_sided_lock,
        racy_increment,
        iteration,
        order_dependent,
        livelock,
        lazy_singleton,
        toctou,
        private_lock,
        executor,
        simple_queue,
        module_lock,
        import_time_lock,
        default_arg_lock,
        try_lock,
        sleep_sync,
        unlocked_increment_global,
        singleton_check_then_create,
        rmw_two_lines,
        dict_iteration,
        two_locks_one_balance,
        torn_pair,
        library_code,
    )
]


def by_name(name: str) -> Bug:
    """The bug called ``name``."""
    for bug in BUGS:
        if bug.name == name:
            return bug
    raise KeyError(name)
