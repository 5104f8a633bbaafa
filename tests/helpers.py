"""Helpers shared by the tests: source markers, thread bookkeeping, subprocess runs."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import snarl

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
JOIN_TIMEOUT = 10.0


def line_of(path: str | os.PathLike[str], marker: str) -> int:
    """The number of the one line of ``path`` that contains ``marker`` (as a whole word)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    pattern = re.compile(re.escape(marker) + r"(?![\w-])")
    found = [i for i, line in enumerate(lines, 1) if pattern.search(line)]
    assert len(found) == 1, f"{marker!r} occurs on lines {found} of {path}"
    return found[0]


def line_in(path: str | os.PathLike[str], function: str, code: str) -> int:
    """The number of the one line of ``function`` in ``path`` whose code starts with ``code``."""
    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    [node] = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == function
    ]
    found = [
        i for i in range(node.lineno, node.end_lineno + 1) if lines[i - 1].strip().startswith(code)
    ]
    assert len(found) == 1, f"{code!r} starts lines {found} of {function}() in {path}"
    return found[0]


class ThreadKit:
    """Starts daemon threads for one test and guarantees they are gone after it."""

    def __init__(self) -> None:
        self.stop = threading.Event()  # most targets end when this is set
        self.started: list[threading.Thread] = []
        self.errors: list[tuple[str, BaseException]] = []
        self._releases: list[Callable[[], Any]] = [self.stop.set]

    def thread(
        self, target: Callable[..., Any], *args: Any, name: str | None = None
    ) -> threading.Thread:
        """A daemon thread running ``target(*args)``, not started, joined at teardown."""

        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:
                self.errors.append((threading.current_thread().name, exc))

        t = threading.Thread(target=run, name=name, daemon=True)
        self.started.append(t)
        return t

    def start(
        self, target: Callable[..., Any], *args: Any, name: str | None = None
    ) -> threading.Thread:
        """Like :meth:`thread`, started."""
        t = self.thread(target, *args, name=name)
        t.start()
        return t

    def on_teardown(self, release: Callable[[], Any]) -> None:
        """Run ``release`` at teardown (last registered runs first), before the joins."""
        self._releases.append(release)

    def close(self) -> None:
        for release in reversed(self._releases):
            release()
        for t in self.started:
            if t.ident is not None:
                t.join(JOIN_TIMEOUT)
        leaked = [t.name for t in self.started if t.is_alive()]
        assert not leaked, f"threads still alive after the test: {leaked}"
        assert not self.errors, f"threads raised: {self.errors}"


def blocked(*threads: threading.Thread) -> snarl.Snapshot:
    """The first snapshot showing every given thread parked (waiting, sleeping or idle)."""
    return snarl.wait_until_blocked(*threads, timeout=JOIN_TIMEOUT)


def snapshot_when(
    predicate: Callable[[snarl.Snapshot], bool], what: str, timeout: float = JOIN_TIMEOUT
) -> snarl.Snapshot:
    """The first snapshot for which ``predicate`` holds; AssertionError (with a dump) after
    ``timeout`` seconds.  A bounded poll, for states that take several threads to reach."""
    deadline = time.monotonic() + timeout
    while True:
        snap = snarl.snapshot()
        if predicate(snap):
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not reached in {timeout} s: {what}\n{snarl.format_dump(snap, 'text')}"
            )
        time.sleep(0.001)


def deadlocked(*threads: threading.Thread) -> snarl.Snapshot:
    """The first snapshot with exactly one deadlock, whose cycle is exactly these threads."""
    idents = {t.ident for t in threads}

    def found(snap: snarl.Snapshot) -> bool:
        return len(snap.deadlocks) == 1 and {s.thread for s in snap.deadlocks[0].steps} == idents

    return snapshot_when(found, f"one deadlock of {sorted(t.name for t in threads)}")


def started(*threads: threading.Thread, timeout: float = JOIN_TIMEOUT) -> None:
    """Wait (bounded) until threads that another thread starts have an ident."""
    deadline = time.monotonic() + timeout
    while any(t.ident is None for t in threads):
        assert time.monotonic() < deadline, "threads did not start"
        time.sleep(0.001)


def snarl_env() -> dict[str, str]:
    """The environment for a subprocess that must import the same ``snarl`` as the tests."""
    env = dict(os.environ)
    package_parent = str(Path(snarl.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    env.pop("PYTHONWARNINGS", None)
    return env


def run_python(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``sys.executable *args`` in the repository root, output captured as text."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=snarl_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
