"""Count CPython's own thread suites' results natively, under ``snarl.install()`` and under
``snarl.install(lockorder=True)``: the figures quoted for issue 16's conformance harness.

Usage (from anywhere; paths are found from this file)::

    python tests/conformance/counts.py            # the harness's selection of test classes
    python tests/conformance/counts.py --whole    # every TestCase class of the three modules

It runs ``test_threading``, ``test_queue`` and ``test_thread`` from the running interpreter's
``test`` package, once per mode, each in its own subprocess (:mod:`cpython_runner`, the
harness's runner; installing changes the whole process), one after the other, and prints
ran/passed/failed/errors/skipped per mode, the tests whose outcome differs from native, and
the validator's report count.  ``--whole`` includes the classes the harness leaves out (see
:mod:`tests.conformance.test_cpython_suites` for why): expect more time and a few more
differences there (``PyRLockTests`` is ``threading._PyRLock``, which is not replaced, and the
classes that start child interpreters or fork run without snarl in the child).

Exit status: 0 when every run ended, 1 when one hung or crashed, 2 without the test package.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUNNER = HERE / "cpython_runner.py"
MODES = ("native", "install", "lockorder")
KINDS = ("pass", "fail", "error", "skip")
_BY_DESIGN: dict[str, str] = {}  # test id -> the by-design difference (the harness's list)


def _selection(whole: bool) -> list[str]:
    sys.path[:0] = [str(REPO), str(REPO / "src")]
    from tests.conformance.test_cpython_suites import BY_DESIGN, SELECTION

    _BY_DESIGN.update(BY_DESIGN)

    args = []
    for name, classes in SELECTION.items():
        if classes is None or whole:
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


def _run(mode: str, selection: list[str], deadline: float) -> dict:
    env = dict(os.environ, SNARL_CONFORMANCE_HANG=str(deadline))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(RUNNER), mode, *selection],
        capture_output=True,
        text=True,
        env=env,
        timeout=deadline + 60,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"failed": f"exit status {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"}
    found = json.loads(lines[-1])
    found["seconds"] = time.monotonic() - began
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the three modes and print the counts (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whole", action="store_true", help="every TestCase class")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds per run")
    args = parser.parse_args(argv)
    try:
        importlib.import_module("test.support")
        selection = _selection(args.whole)
    except ImportError as exc:
        print(f"no CPython test package here ({sys.executable}): {exc}", file=sys.stderr)
        return 2
    print(f"Python {sys.version.split()[0]} ({sys.executable})")
    print(f"selection: {'every class' if args.whole else 'the harness selection'}")
    print(f"{'mode':<10} {'ran':>5} {'passed':>7} {'failed':>7} {'errors':>7} {'skipped':>8}")
    runs = {}
    status = 0
    for mode in MODES:
        runs[mode] = run = _run(mode, selection, args.deadline)
        if "failed" in run:
            print(f"{mode:<10} did not finish: {run['failed']}")
            status = 1
            continue
        counts = {k: sum(1 for v in run["outcomes"].values() if v == k) for k in KINDS}
        print(
            f"{mode:<10} {len(run['outcomes']):>5} {counts['pass']:>7} {counts['fail']:>7} "
            f"{counts['error']:>7} {counts['skip']:>8}   ({run['seconds']:.0f} s"
            + (f", {len(run['reports'])} lock-order reports)" if mode == "lockorder" else ")")
        )
    native = runs["native"]
    if "failed" not in native:
        bad = sorted(t for t, v in native["outcomes"].items() if v in ("fail", "error"))
        print(f"\nnative: {len(bad)} test(s) fail or err without snarl")
        for test_id in bad:
            print(f"  {test_id.removeprefix('test.')}: {native['outcomes'][test_id]}")
    for mode in MODES[1:]:
        ours = runs[mode]
        if "failed" in native or "failed" in ours:
            continue
        diff = sorted(
            (t.removeprefix("test."), native["outcomes"].get(t), v)
            for t, v in ours["outcomes"].items()
            if native["outcomes"].get(t) != v
        )
        print(f"\n{mode}: {len(diff)} outcome(s) differ from native")
        for test_id, was, now in diff:
            why = _BY_DESIGN.get(test_id, "NOT EXPLAINED") if was == "pass" else "?"
            print(f"  {test_id}: native {was}, {mode} {now} ({why})")
    return status


if __name__ == "__main__":
    sys.exit(main())
