"""Run test classes of CPython's own test package natively, under ``snarl.install()`` or under
``snarl.install(lockorder=True)``, and print one JSON line with every test's outcome.

Usage: ``python cpython_runner.py MODE MODULE:Class,Class ...`` where MODE is ``native``,
``install`` or ``lockorder``.  The JSON object has ``outcomes`` (test id -> ``"pass"``,
``"fail"``, ``"error"``, ``"skip"``), ``reports`` (the validator's reports, as text) and
``version``.  A run that does not end within ``SNARL_CONFORMANCE_HANG`` seconds (default 90)
dumps every thread's stack and exits with status 3, so a hang is a failure, never a wait.
Run by :mod:`tests.conformance.test_cpython_suites` in a subprocess, one per mode: installing
changes the whole process.
"""

from __future__ import annotations

import faulthandler
import importlib
import io
import json
import os
import sys
import unittest


def main(argv: list[str]) -> int:
    mode, selections = argv[0], argv[1:]
    faulthandler.dump_traceback_later(
        float(os.environ.get("SNARL_CONFORMANCE_HANG", 90)), exit=True
    )
    reports: list[object] = []
    if mode in ("install", "lockorder"):
        import snarl

        if mode == "lockorder":
            validator = snarl.install(lockorder=True, report=reports.append).validator
        else:
            snarl.install()
    elif mode != "native":
        print(f"unknown mode {mode!r}: expected native, install or lockorder", file=sys.stderr)
        return 2
    suite = unittest.TestSuite()
    for selection in selections:
        name, _, classes = selection.partition(":")
        module = importlib.import_module(f"test.{name}")
        for cls in classes.split(","):
            suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(getattr(module, cls)))
    result = unittest.TestResult()
    outcomes: dict[str, str] = {}

    def ids(items: list[tuple[unittest.TestCase, object]], what: str) -> None:
        for test, _ in items:
            # a subtest counts for its test
            test_id = getattr(test, "test_case", test).id()
            outcomes[test_id] = what

    every = [test.id() for test in _flatten(suite)]  # (running a suite empties it)
    real_stdout = sys.stdout
    sys.stdout = io.StringIO()  # the suites print; only the JSON line goes out
    try:
        suite.run(result)
    finally:
        sys.stdout = real_stdout
    ids(result.skipped, "skip")
    ids(result.failures, "fail")
    ids(result.errors, "error")
    ids(result.unexpectedSuccesses, "fail")
    for test_id in every:
        outcomes.setdefault(test_id, "pass")
    if mode == "lockorder":
        validator.flush()  # reports held back for a lock's release (none must stand)
    texts = [str(r) for r in reports]
    print(json.dumps({"outcomes": outcomes, "reports": texts, "version": sys.version}))
    sys.stdout.flush()
    os._exit(0)  # threads some tests leave behind must not hold the exit up


def _flatten(suite: unittest.TestSuite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
