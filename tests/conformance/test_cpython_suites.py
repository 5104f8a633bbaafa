"""Conformance on real suites: CPython's own ``test_threading``, ``test_queue`` and
``test_thread`` (from the interpreter's ``test`` package) natively, under ``snarl.install()``
and under ``snarl.install(lockorder=True)``.  The results must be the same test by test, with
no hang and no lock-order report, except two differences by design:

1. **The classes live in ``snarl.sync``.**  ``MiscTestCase.test__all__`` counts the names whose
   ``__module__`` is ``threading``, and the ``test_repr`` of Event, Semaphore,
   BoundedSemaphore and Barrier matches ``<\\w+\\.Event at ...>``, one dot where
   ``snarl.sync.Event`` has two (the rest of the repr is CPython's shape).
2. **``type(Lock())()`` can be instantiated** (``ThreadTests.test_disallow_instantiation``,
   3.10-3.12, where ``_thread.lock`` cannot be): the type of a snarl lock is a Python class.

The three runs are subprocesses (installing changes the whole process), started together to
keep the wall time down; each dumps its threads and exits if it runs over its deadline.
A selection of test classes keeps the whole under a minute on CI:

* ``test_threading``: every class about the primitives and threads (``ThreadTests``,
  ``LockTests``, ``CRLockTests``, ``ConditionAsRLockTests`` (the validator once hung in its
  ``test_timeout``), ``EventTests``, ``ConditionTests``, ``SemaphoreTests``,
  ``BoundedSemaphoreTests``, ``BarrierTests``, ``ThreadingExceptionTests``, ``TimerTests``,
  ``ExceptHookTests``, ``MiscTestCase``); left out: ``PyRLockTests`` (``threading._PyRLock``,
  which install() does not replace), ``ThreadJoinOnShutdown``, ``SubinterpThreadingTests``
  and the other classes that only run child interpreters (snarl is not installed in them);
* ``test_queue``: one class per queue kind over ``threading``'s primitives (``CQueueTest``,
  ``CLifoQueueTest``, ``CPriorityQueueTest``, ``CFailingQueueTest``, ``PySimpleQueueTest``):
  the ``Py*`` twins of the first four run the same code on the same primitives, and
  ``CSimpleQueueTest`` is C code snarl does not see;
* ``test_thread``: all of it.

An interpreter without CPython's ``test`` package (some builds leave it out) skips, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import unittest
from pathlib import Path

import pytest

import snarl

SELECTION = {
    "test_threading": [
        "ThreadTests",
        "LockTests",
        "CRLockTests",
        "ConditionAsRLockTests",
        "EventTests",
        "ConditionTests",
        "SemaphoreTests",
        "BoundedSemaphoreTests",
        "BarrierTests",
        "ThreadingExceptionTests",
        "TimerTests",
        "ExceptHookTests",
        "MiscTestCase",
    ],
    "test_queue": [
        "CQueueTest",
        "CLifoQueueTest",
        "CPriorityQueueTest",
        "CFailingQueueTest",
        "PySimpleQueueTest",
    ],
    "test_thread": None,  # every class
}
MODES = ("native", "install", "lockorder")
DEADLINE = 90.0  # seconds a run may take before it counts as hung (it dumps and exits)

# test id suffix -> the by-design difference that makes it fail under snarl (module docstring)
IN_SNARL_SYNC = "difference 1: the classes live in snarl.sync"
BY_DESIGN = {
    "test_threading.MiscTestCase.test__all__": IN_SNARL_SYNC,
    "test_threading.EventTests.test_repr": IN_SNARL_SYNC,
    "test_threading.SemaphoreTests.test_repr": IN_SNARL_SYNC,
    "test_threading.BoundedSemaphoreTests.test_repr": IN_SNARL_SYNC,
    "test_threading.BarrierTests.test_repr": IN_SNARL_SYNC,
    "test_threading.ThreadTests.test_disallow_instantiation": (
        "difference 2: type(Lock())() can be instantiated"
    ),
}

RUNNER = Path(__file__).with_name("cpython_runner.py")


def _missing() -> str | None:
    """Why CPython's suites cannot run here, or None."""
    try:
        found = importlib.util.find_spec("test.support")
    except ImportError:
        found = None
    if found is None:
        return f"this Python ({sys.executable}) has no CPython test package (test.support)"
    for name in SELECTION:
        if importlib.util.find_spec(f"test.{name}") is None:
            return f"this Python's test package has no {name}"
    return None


def _selection() -> list[str]:
    args = []
    for name, classes in SELECTION.items():
        if classes is None:
            module = importlib.import_module(f"test.{name}")
            classes = sorted(
                n
                for n, obj in vars(module).items()
                if isinstance(obj, type)
                and issubclass(obj, unittest.TestCase)
                and obj.__module__ == module.__name__
            )
        args.append(f"{name}:{','.join(classes)}")
    return args


@pytest.fixture(scope="module")
def runs() -> dict[str, dict]:
    """Each mode's results (the three runs at once, in subprocesses)."""
    why = _missing()
    if why is not None:
        pytest.skip(why)
    env = dict(os.environ, SNARL_CONFORMANCE_HANG=str(DEADLINE))
    source = str(Path(snarl.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (source, env.get("PYTHONPATH")) if p)
    selection = _selection()
    procs = {
        mode: subprocess.Popen(
            [sys.executable, str(RUNNER), mode, *selection],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for mode in MODES
    }
    found: dict[str, dict] = {}
    for mode, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=DEADLINE + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        found[mode] = (
            json.loads(lines[-1])
            if proc.returncode == 0 and lines
            else {"failed": f"exit status {proc.returncode}; stderr:\n{err[-5000:]}"}
        )
    return found


def _short(test_id: str) -> str:
    return test_id.removeprefix("test.")


@pytest.mark.parametrize("mode", MODES)
def test_no_run_hangs_or_crashes(runs, mode):
    assert "failed" not in runs[mode], runs[mode].get("failed")
    assert len(runs[mode]["outcomes"]) > 100  # the selection ran (not an empty suite)


@pytest.mark.parametrize("mode", ["install", "lockorder"])
def test_results_are_as_native(runs, mode):
    native, ours = runs["native"], runs[mode]
    assert "failed" not in native and "failed" not in ours
    assert set(ours["outcomes"]) == set(native["outcomes"])
    differences = {
        _short(t): (native["outcomes"][t], outcome)
        for t, outcome in ours["outcomes"].items()
        if outcome != native["outcomes"][t]
    }
    unexplained = {t: d for t, d in differences.items() if not (t in BY_DESIGN and d[0] == "pass")}
    assert unexplained == {}, f"{mode} differs from native (native, {mode}): {unexplained}"


def test_the_validator_reports_nothing(runs):
    assert "failed" not in runs["lockorder"]
    assert runs["lockorder"]["reports"] == []
