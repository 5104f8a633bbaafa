"""Which code is the user's, and the import hook that rewrites it.

User code is a ``.py`` file under one of the detector's *roots* (the script's folder, the
current directory for ``-m``, a test session's root) that is not the standard library's, an
installed package's or snarl's own, plus the packages named with ``include``.  Only those
modules are rewritten (:mod:`snarl.race.rewrite`), so the standard library and snarl itself are
never reported against.  Rewritten modules are compiled from source every time (no ``.pyc`` is
read or written for them).
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import os
import sys
import sysconfig
from collections.abc import Sequence
from typing import Any

from . import rewrite

__all__ = ["RaceFinder", "is_library_file"]

_SNARL = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_EXAMPLES = os.path.join(_SNARL, "examples", "")


def _library_prefixes() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    found = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        import site

        found.update(site.getsitepackages())
        found.add(site.getusersitepackages())
    except Exception:  # an old virtualenv's site module
        pass
    return tuple(os.path.join(os.path.realpath(p), "") for p in found if p)


_LIBRARY = _library_prefixes()


def is_library_file(path: str) -> bool:
    """Whether ``path`` is the standard library's, an installed package's or snarl's own."""
    real = os.path.realpath(path)
    if real.startswith(_SNARL) and not real.startswith(_EXAMPLES):
        return True
    return real.startswith(_LIBRARY)


class RaceFinder(importlib.abc.MetaPathFinder):
    """A meta-path finder placing the rewriting loader on user modules."""

    def __init__(
        self,
        detector: Any,
        roots: Sequence[str],
        include: Sequence[str] = (),
        pre_rewrite: Any = None,
    ) -> None:
        self.detector = detector
        self.pre_rewrite = pre_rewrite
        self.roots = tuple(os.path.join(os.path.realpath(r), "") for r in roots)
        self.include = tuple(include)

    def is_user(self, name: str, path: str) -> bool:
        """Whether module ``name`` at ``path`` is to be instrumented."""
        if any(name == p or name.startswith(p + ".") for p in self.include):
            return True
        real = os.path.realpath(path)
        return real.startswith(self.roots) and not is_library_file(real)

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        origin = spec.origin or ""
        if not origin.endswith(".py") or not self.is_user(fullname, origin):
            return None
        spec.loader = RaceLoader(fullname, origin, self.detector, self.pre_rewrite)
        return spec


class RaceLoader(importlib.machinery.SourceFileLoader):
    """Loads a user module with its accesses instrumented."""

    def __init__(self, fullname: str, path: str, detector: Any, pre_rewrite: Any = None) -> None:
        super().__init__(fullname, path)
        self.detector = detector
        self.pre_rewrite = pre_rewrite

    def get_code(self, fullname: str) -> Any:
        source = self.get_data(self.path)
        try:
            tree = ast.parse(source, self.path)
        except SyntaxError:
            return super().get_code(fullname)  # python's own error, as without snarl
        try:
            if self.pre_rewrite is not None:
                self.pre_rewrite(tree, source, self.path, fullname)
            text = source.decode("utf-8", "replace")
            tree = rewrite.rewrite(tree, text, self.path)
            return compile(tree, self.path, "exec", dont_inherit=True)
        except Exception as exc:  # never break the import: run it uninstrumented, and say so
            self.detector.not_instrumented.append(f"{fullname} ({type(exc).__name__}: {exc})")
            return super().get_code(fullname)

    def exec_module(self, module: Any) -> None:
        rewrite.namespace(module.__dict__, module)
        if not any(n.startswith(f"{module.__name__} (") for n in self.detector.not_instrumented):
            self.detector.files.add(self.path)
            self.detector.modules.append(module.__name__)
        super().exec_module(module)


def user_modules_loaded(finder: RaceFinder) -> list[str]:
    """User modules already imported (so not instrumented) when detection begins."""
    found = []
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if isinstance(path, str) and path.endswith(".py") and finder.is_user(name, path):
            found.append(name)
    return found
