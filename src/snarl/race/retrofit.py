"""Instrument a module that is already imported, by swapping its functions' code objects.

``with snarl.races():`` in a test, or ``pytest --snarl-races``, starts after the test module
was imported.  :func:`retrofit` recompiles the module's source with the rewriting of
:mod:`snarl.race.rewrite` and gives each of its functions and methods (found in the module's
namespace and its classes) the rewritten code object of the same name and first line; closures
made later come from rewritten code too.  The returned callable puts the original code back.
A function whose rewritten code needs other free variables (it owns a ``nonlocal`` cell that
its closures share) keeps its code: it is listed in ``skipped``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FunctionType, ModuleType
from typing import Any

from . import rewrite

__all__ = ["retrofit"]


def _key(code: CodeType) -> tuple[str, int]:
    return (getattr(code, "co_qualname", code.co_name), code.co_firstlineno)


def _codes(code: CodeType, out: dict[tuple[str, int], CodeType]) -> None:
    for const in code.co_consts:
        if isinstance(const, CodeType):
            out[_key(const)] = const
            _codes(const, out)


def _functions(ns: dict[str, Any], path: str, seen: set[int]) -> list[FunctionType]:
    found = []
    for value in list(ns.values()):
        if id(value) in seen:
            continue
        seen.add(id(value))
        for fn in (value, getattr(value, "__func__", None), getattr(value, "fget", None),
                   getattr(value, "fset", None), getattr(value, "__wrapped__", None)):  # fmt: skip
            if isinstance(fn, FunctionType) and fn.__code__.co_filename == path:
                found.append(fn)
        if isinstance(value, type) and getattr(value, "__module__", None) == ns.get("__name__"):
            found.extend(_functions(dict(vars(value)), path, seen))
    return found


def retrofit(module: ModuleType, detector: Any) -> tuple[Callable[[], None], list[str]]:
    """Instrument ``module``'s functions in place; return (undo, names skipped)."""
    path = getattr(module, "__file__", None)
    if not isinstance(path, str) or not path.endswith(".py"):
        return (lambda: None), []
    with open(path, "rb") as f:
        source = f.read()
    top = rewrite.compile_source(source, path)
    new: dict[tuple[str, int], CodeType] = {}
    _codes(top, new)
    rewrite.namespace(module.__dict__, module)
    saved: list[tuple[FunctionType, CodeType]] = []
    skipped: list[str] = []
    for fn in _functions(module.__dict__, path, set()):
        code = new.get(_key(fn.__code__))
        if code is None:
            continue
        if code.co_freevars != fn.__code__.co_freevars:
            skipped.append(fn.__qualname__)
            continue
        saved.append((fn, fn.__code__))
        fn.__code__ = code
    detector.files.add(path)
    detector.modules.append(module.__name__)

    def undo() -> None:
        for fn, code in saved:
            fn.__code__ = code

    return undo, skipped


def caller_module(depth: int) -> ModuleType | None:
    """The module whose code is ``depth`` frames up (None if it has no module)."""
    name = sys._getframe(depth + 1).f_globals.get("__name__")
    return sys.modules.get(name) if isinstance(name, str) else None
