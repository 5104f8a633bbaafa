"""A rate limiter that over-admits, inside library code (``tokenbucket``'s check-then-decrement).

Bug: ``TokenBucket.try_acquire()`` checks that a token is left, then takes it, without a lock;
two requests against a bucket of one token can both see it and both be admitted.  The switch
falls between two lines of the library: tools that give library code no switch points (snarl
today: stdlib and site-packages) cannot show it unless told to treat the package as user code
(``INCLUDE``).  Fix: the package's ``LockedTokenBucket``.

``_lib/tokenbucket`` is in this repository, but is imported as if installed, with nothing
installed: a directory named ``site-packages`` inside the repository would not do (snarl, like
interleave-test, tells library code by the interpreter's own stdlib and site-packages paths,
not by a name).  So importing this module puts a finder first on ``sys.meta_path`` that loads
the package's source from ``_lib/`` and compiles it under a file name in the running
interpreter's site-packages (``sysconfig``'s ``purelib``, where no such file exists): its code
objects, ``__file__`` and ``__path__`` all say site-packages.  Only the name ``tokenbucket`` is
affected (a real ``tokenbucket`` installed there would be shadowed in this process).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

try:
    from ._harness import Program
except ImportError:  # loaded as a file (snarl explore benchmarks/bugs/library_code.py::buggy)
    from _harness import Program

GRANULARITY = "line"
SWITCH = "between the check and the decrement in TokenBucket.try_acquire (library code)"
EXPECT = "assertion"
CLASS = "library"
INCLUDE = "tokenbucket"

_SOURCES = Path(__file__).resolve().parent / "_lib"  # where the package's files really are
_MOUNT = Path(sysconfig.get_paths()["purelib"])  # where its code says they are


class _LibraryMount(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports the packages of ``_lib/`` under file names in site-packages (see the module)."""

    tag = "snarl-bench-library-mount"

    def __init__(self, packages: frozenset[str]) -> None:
        self.packages = packages

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if parts[0] not in self.packages:
            return None
        real = _SOURCES.joinpath(*parts)
        if (real / "__init__.py").is_file():
            return importlib.util.spec_from_file_location(
                fullname,
                str(_MOUNT.joinpath(*parts, "__init__.py")),
                loader=self,
                submodule_search_locations=[str(_MOUNT.joinpath(*parts))],
            )
        if real.with_suffix(".py").is_file():
            shown = _MOUNT.joinpath(*parts[:-1], parts[-1] + ".py")
            return importlib.util.spec_from_file_location(fullname, str(shown), loader=self)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        shown = module.__spec__.origin  # type: ignore[union-attr]
        source = self._source(shown)
        # Tracebacks and reports read the source by the shown name (no file there).
        linecache.cache[shown] = (len(source), None, source.splitlines(True), shown)
        exec(compile(source, shown, "exec", dont_inherit=True), module.__dict__)

    def get_source(self, fullname: str) -> str:
        spec = self.find_spec(fullname)
        if spec is None or spec.origin is None:
            raise ImportError(f"no {fullname} in {_SOURCES}", name=fullname)
        return self._source(spec.origin)

    @staticmethod
    def _source(shown: str) -> str:
        return (_SOURCES / Path(shown).relative_to(_MOUNT)).read_text(encoding="utf-8")


if not any(getattr(f, "tag", None) == _LibraryMount.tag for f in sys.meta_path):
    sys.meta_path.insert(0, _LibraryMount(frozenset({INCLUDE})))
tokenbucket = importlib.import_module(INCLUDE)


class Gate:
    def __init__(self, bucket: tokenbucket.TokenBucket) -> None:
        self.bucket = bucket
        self.admitted: list[bool] = []


def request(g: Gate) -> None:
    g.admitted.append(g.bucket.try_acquire())


def check(g: Gate) -> None:
    assert g.admitted.count(True) == 1, f"one token, admitted {g.admitted.count(True)} requests"


BUGGY = Program(lambda: Gate(tokenbucket.TokenBucket(1)), (request, request), check)
FIXED = Program(lambda: Gate(tokenbucket.LockedTokenBucket(1)), (request, request), check)


def buggy() -> None:
    BUGGY.run()


def fixed() -> None:
    FIXED.run()
