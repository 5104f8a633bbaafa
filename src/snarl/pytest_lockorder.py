"""The lock-order part of snarl's pytest plugin: the validator's reports fail the test phase
that recorded them (behaviour and options: :mod:`snarl.pytest_plugin`)."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import replace
from typing import Any

import pytest

from .pytest_frames import _trim_stack

# ---- lock order -------------------------------------------------------------------------------


class _LockOrder:
    """Collects the validator's reports and fails the test phase that recorded one."""

    def __init__(self) -> None:
        self._found: deque[Any] = deque()  # appended from any thread (deque.append is atomic)
        self.outside: list[tuple[str, Any]] = []
        self.validator: Any = None  # set once installed: read for its group-owned classes

    def record(self, inversion: Any) -> None:
        """The validator's report callable: runs in the thread that closed the cycle."""
        self._found.append(inversion)

    def _drain(self) -> list[Any]:
        """The reports recorded since the last call, less those that went stale: a cycle
        through a lock class that has since become group-owned (released by another thread
        than its owner, as a readers-writer lock's resource lock is) is not one any more."""
        flush = getattr(self.validator, "flush", None)
        if flush is not None:  # reports still held back for a lock's release: due now
            flush()
        found = []
        while True:
            try:
                found.append(self._found.popleft())
            except IndexError:
                break
        group = getattr(self.validator, "_group", None) or ()
        return [
            inv
            for inv in found
            if not any(getattr(e.from_class, "key", None) in group for e in inv.edges)
        ]

    def pytest_collection_finish(self) -> None:
        """Inversions recorded while test modules were imported belong to no test."""
        self.outside += [("during collection", inv) for inv in self._drain()]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        """Fail the phase during which an inversion was recorded, with the report text."""
        outcome = yield
        found = self._drain()
        if not found:
            return
        report = outcome.get_result()
        text = _inversions_text(found)
        if report.passed:
            report.outcome = "failed"
            report.longrepr = (
                f"snarl --snarl-lockorder: a lock-order inversion was recorded during "
                f"{call.when}\n{text}"
            )
        else:
            report.sections.append((f"snarl lock-order inversion ({call.when})", text))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """An inversion recorded outside any test makes the run fail."""
        self.outside += [("after the last test", inv) for inv in self._drain()]
        if self.outside and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Show the inversions that no test could be failed for."""
        if not self.outside:
            return
        terminalreporter.section("snarl: lock-order inversions outside any test", sep="-")
        for when, inv in self.outside:
            terminalreporter.write_line(f"recorded {when}:")
            terminalreporter.write_line(_inversions_text([inv]))


def _inversions_text(found: Iterable[Any]) -> str:
    """The validator's reports, each stack without the pytest frames below the test."""
    texts = []
    for inv in found:
        with contextlib.suppress(TypeError, AttributeError):  # another shape: shown as it is
            edges = tuple(replace(e, stack=_trim_stack(e.stack)) for e in inv.edges)
            inv = replace(inv, edges=edges)
        texts.append(inv.message())
    return "\n\n".join(texts)
