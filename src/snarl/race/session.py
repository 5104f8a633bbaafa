"""A detection session: ``with snarl.races() as r:`` and running a program under the detector.

:func:`races` installs snarl's primitives (if they are not), starts a :class:`Detector`, puts
the rewriting import hook first on ``sys.meta_path`` and instruments the modules named (by
default the caller's) in place; on exit everything is undone and ``r`` holds the races found
(:attr:`Races.found`) and what was covered (:attr:`Races.summary`).  :func:`run_program`
runs a script or module under a session, as ``snarl race`` does.
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..sync.patch import install, installed, uninstall
from . import importer, retrofit, rewrite
from .detector import Detector
from .report import Race, Summary, format_race, format_summary, to_json

__all__ = ["RaceError", "Races", "races", "read_suppressions", "run_program"]


_NO_MODULE = ModuleType("<none>")  # run_program instruments no module in place


class RaceError(AssertionError):
    """Raised by :meth:`Races.check` when races were found; the message is the report."""


class Races:
    """The outcome of a detection session (filled in as it runs, final once it ends)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector

    @property
    def found(self) -> list[Race]:
        """The races found, each distinct pair of sites once."""
        return self.detector.found()

    @property
    def summary(self) -> Summary:
        """Races, accesses checked, threads, what was instrumented and what was not seen."""
        return self.detector.summary()

    def text(self) -> str:
        """Every report, then the summary."""
        lines: list[str] = []
        for race in self.found:
            lines.extend(format_race(race))
        lines.extend(format_summary(self.summary))
        return "\n".join(lines) + "\n"

    def json(self) -> dict[str, Any]:
        """The JSON document (``docs/races.md``, schema 1)."""
        return to_json(self.found, self.summary)

    def check(self) -> None:
        """Raise :class:`RaceError` with the report if any race was found."""
        if self.found:
            raise RaceError(self.text())


def read_suppressions(path: str) -> list[str]:
    """The patterns of a suppression file: one ``PATH_GLOB[:LINE_OR_FUNCTION]`` a line; blank
    lines and ``#`` comments ignored."""
    with open(path, encoding="utf-8") as f:
        return [s for s in (line.split("#", 1)[0].strip() for line in f) if s]


@contextmanager
def races(
    *modules: ModuleType | str,
    roots: Sequence[str] = (),
    include: Sequence[str] = (),
    suppress: Sequence[str] = (),
    pre_rewrite: Callable[..., None] | None = None,
    history: bool = False,
) -> Iterator[Races]:
    """Detect data races among the threads that run inside the ``with`` block.

    Instrumented: ``modules`` (objects or names; by default the module calling ``races()``),
    and every module imported during the block from ``roots`` (default: the current
    directory) or from the packages in ``include``.  ``suppress`` lists suppression patterns
    (see :func:`read_suppressions`).  ``pre_rewrite(tree, source, path, name)`` may change an
    imported module's AST before it is instrumented (pytest rewrites its asserts there).
    snarl's locks made before the block (snarl installed, nothing listening) report from its
    start; locks made before snarl was installed are native: an order they alone impose is
    not seen (and may be reported as a race), and the summary names those in the
    instrumented modules' globals.  ``history`` keeps the user-code stack of every access,
    so that the earlier access of a race has its stack too (several times slower).
    """
    det = Detector(suppress=list(suppress), history=history)
    finder = importer.RaceFinder(det, roots or [os.getcwd()], include, pre_rewrite)
    det.imported_before = importer.user_modules_loaded(finder)
    targets = [sys.modules[m] if isinstance(m, str) else m for m in modules if m is not _NO_MODULE]
    if not modules:
        caller = retrofit.caller_module(2)
        targets = [caller] if caller is not None else []
    targets = [m for m in targets if not importer.is_library_file(getattr(m, "__file__", "") or "")]
    was_installed = installed()
    if not was_installed:
        install()
    undos = []
    try:
        for mod in targets:
            try:
                undo, _skipped = retrofit.retrofit(mod, det)
            except Exception as exc:  # no source, odd source: never break the caller
                det.not_instrumented.append(f"{mod.__name__} ({type(exc).__name__}: {exc})")
                continue
            undos.append(undo)
            if mod.__name__ in det.imported_before:
                det.imported_before.remove(mod.__name__)
        sys.meta_path.insert(0, finder)
        det.start()
        yield Races(det)
    finally:
        det.stop()
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for undo in undos:
            undo()
        if not was_installed:
            uninstall()


def run_program(
    target: str,
    args: Sequence[str],
    *,
    module: bool = False,
    include: Sequence[str] = (),
    suppress: Sequence[str] = (),
    before_stop: Callable[[], None] | None = None,
    history: bool = False,
) -> tuple[Races, BaseException | None]:
    """Run a script (or ``-m`` module) under the detector, as ``snarl race`` does.

    Returns the session and the exception the program ended with (``SystemExit`` included),
    or None.  The script itself is rewritten as it is compiled; its folder (or the current
    directory for a module) is the root of user code.  ``before_stop`` runs after the program,
    still under detection (``snarl race`` joins the program's non-daemon threads there).
    """
    root = os.getcwd() if module else os.path.dirname(os.path.abspath(target))
    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    sys.argv = [target, *args]
    if sys.path:
        sys.path[0] = root
    outcome: BaseException | None = None
    with races(_NO_MODULE, roots=[root], include=include, suppress=suppress, history=history) as r:
        try:
            if module:
                runpy.run_module(target, run_name="__main__", alter_sys=True)
            else:
                _run_script(target, r.detector)
        except BaseException as exc:  # the program's own ending, reported by the caller
            outcome = exc
        if before_stop is not None:
            before_stop()
    sys.argv = saved_argv
    if saved_path0 is not None and sys.path:
        sys.path[0] = saved_path0
    return r, outcome


def _run_script(path: str, det: Detector) -> None:
    path = os.path.abspath(path)
    with open(path, "rb") as f:
        source = f.read()
    code = rewrite.compile_source(source, path)
    main = ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = __builtins__  # type: ignore[attr-defined]
    rewrite.namespace(main.__dict__, main)
    det.files.add(path)
    det.modules.append(f"__main__ ({os.path.basename(path)})")
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
