"""The test an explorer runs: ``FILE.py::TEST`` or ``FILE.py::CLASS::TEST``, loaded under
the explorer's control (what the file makes at import binds to the exploration), with the
project's packages importable as under ``python -m pytest``."""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["LOADED", "load_target"]

LOADED = contextlib.ExitStack()
"""What loading targets under control set up (kept until the process ends: the targets'
objects stay bound to the exploration; tests that load in-process close it)."""


def load_target(
    spec: str, *, races: bool = False, include: Sequence[str] = ()
) -> tuple[Callable[[], Any], str]:
    """``FILE.py::NAME`` → the function (undecorated if @snarl.interleavings wrapped it) and
    the spec; ``FILE.py::CLASS::NAME`` → a function that runs the method (see
    :func:`_method`).  ValueError with a one-line message otherwise.

    As under ``python -m pytest``, the file's folder and the current directory (first) are
    on ``sys.path`` while it loads, so it imports the project's packages.  ``races``
    (``snarl explore --races``): the file and the user modules it imports (under those two
    folders, and the packages ``include``) are instrumented for the race detector, and the
    import hook that does it stays for the modules imported later."""
    path, *names = spec.split("::")
    if not path or not names or not all(names):
        raise ValueError(f"expected FILE.py::TEST or FILE.py::CLASS::TEST, not {spec!r}")
    if len(names) > 2:
        raise ValueError(
            f"cannot load {spec!r}: a test in a nested class is not supported "
            "(FILE.py::TEST or FILE.py::CLASS::TEST)"
        )
    name = names[-1]
    if not Path(path).is_file():
        raise ValueError(f"no such file: {path}")
    from .execution import controlling

    # Load it under the explorer's control, so that what it makes at import is controlled
    # (kept until the process ends: the target's objects stay bound to it).
    LOADED.enter_context(controlling())
    for entry in (str(Path(path).resolve().parent), os.getcwd()):  # the cwd ends up first
        if entry not in sys.path and not (entry == os.getcwd() and "" in sys.path):
            sys.path.insert(0, entry)
    run_name = f"snarl_target_{Path(path).stem}"
    try:
        if races:
            from .races import session

            checker = session([os.getcwd(), str(Path(path).resolve().parent)], include)
            checker.install()
            LOADED.callback(checker.uninstall)
            namespace = checker.run_path(path, run_name)
        else:
            namespace = runpy.run_path(path, run_name=run_name)
    except SystemExit as exc:
        raise ValueError(f"{path} exited while loading (exit code {exc.code})") from None
    except Exception as exc:  # the file's own error: one line saying what and where
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "<frozen" not in f.filename]
        where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
        raise ValueError(f"loading {path} raised {type(exc).__name__}: {exc}{where}") from None
    if len(names) == 2:
        return _method(namespace, path, names[0], name), spec
    fn = namespace.get(name)
    if fn is None or not callable(fn):
        here = str(Path(path).resolve())
        found = sorted(
            k
            for k, v in namespace.items()
            if not k.startswith("_")
            and getattr(getattr(v, "__code__", None), "co_filename", None) in (path, here)
        )
        shown = ", ".join(found[:12]) + (", ..." if len(found) > 12 else "")
        hint = f" (functions there: {shown})" if found else ""
        raise ValueError(f"no function {name!r} in {path}{hint}")
    return getattr(fn, "__snarl_test__", fn), spec


def _method(namespace: dict[str, Any], path: str, cls_name: str, name: str) -> Callable[[], Any]:
    """``FILE.py::CLASS::NAME``: a function that makes a new ``CLASS()`` each time (as pytest
    makes one per test) and calls its method ``NAME`` (undecorated), between its
    ``setup_method`` and ``teardown_method`` if it has them."""
    cls = namespace.get(cls_name)
    if not isinstance(cls, type):
        raise ValueError(f"no class {cls_name!r} in {path}")
    try:
        cls()
    except Exception as exc:  # __init__ wants arguments, or fails: one line
        raise ValueError(f"cannot instantiate {cls_name}: {type(exc).__name__}: {exc}") from None
    if not callable(getattr(cls, name, None)):
        tests = sorted(k for k in dir(cls) if k.startswith("test"))
        hint = f" (tests there: {', '.join(tests)})" if tests else ""
        raise ValueError(f"no method {name!r} in class {cls_name} of {path}{hint}")

    def test() -> Any:
        self = cls()
        bound = getattr(self, name)
        original = getattr(bound, "__snarl_test__", None)  # under @snarl.interleavings
        call = bound if original is None else original.__get__(self, cls)
        if hasattr(self, "setup_method"):
            self.setup_method(call)
        try:
            return call()
        finally:
            if hasattr(self, "teardown_method"):
                self.teardown_method(call)

    test.__name__ = name
    test.__qualname__ = f"{cls_name}.{name}"
    return test
