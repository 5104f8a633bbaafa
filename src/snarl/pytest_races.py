"""``pytest --snarl-races``: a test during which a data race happened fails, with the report.

One detection session spans the test session (:mod:`snarl.race`): snarl's primitives are
installed and the modules under pytest's root (test modules included, their ``assert``s still
rewritten by pytest) are instrumented as they are imported.  Each race is attributed to the
test that started the threads involved (a thread outliving its test keeps its test), or else
to the test running when it was found.  That test's report (call phase, or teardown if it was
found then) fails with the race in a ``snarl race`` section; a race attributed to a test that
had already finished is listed in the terminal summary and fails the session.  The summary
line says what was checked and what could not be seen.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Generator
from typing import Any

import pytest

from .race.report import Race, format_race, format_summary
from .race.session import _NO_MODULE as _NoModule
from .race.session import races

__all__ = ["RACES_DESC", "RacePlugin"]

RACES_DESC = (
    "detect data races: a test during which two threads accessed the same state unordered"
    " (at least one a write) fails with the report (snarl race; docs/races.md)."
)


class RacePlugin:
    """Registered by snarl's pytest plugin when ``--snarl-races`` is given."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self._session: Any = None
        self.races: Any = None
        self.seen: set[int] = set()  # ids of races already given to a test
        self.finished: set[str] = set()
        self.late: list[tuple[str, Race]] = []

    # -- the session ----------------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._session = races(
            _NoModule, roots=[str(self.config.rootpath)], pre_rewrite=self._asserts
        )
        self.races = self._session.__enter__()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._session is not None:
            self._session.__exit__(None, None, None)
            self._session = None
        if self.late and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _asserts(self, tree: ast.Module, source: bytes, path: str, name: str) -> None:
        """Let pytest rewrite the asserts of the modules it would have rewritten."""
        from _pytest.assertion.rewrite import AssertionRewritingHook, rewrite_asserts

        hook = next((f for f in sys.meta_path if isinstance(f, AssertionRewritingHook)), None)
        if hook is None:
            return
        try:
            state = self.config.stash[_assert_state_key()]
            wanted = hook._should_rewrite(name, path, state)
        except Exception:  # a pytest whose internals differ: rewrite test files only
            wanted = path.rsplit("/", 1)[-1].startswith("test_")
        if wanted:
            rewrite_asserts(tree, source, path, self.config)

    # -- each test ------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any) -> Generator[None]:
        det = self.races.detector if self.races is not None else None
        if det is not None:
            det.context = item.nodeid
        try:
            yield
        finally:
            self.finished.add(item.nodeid)
            if det is not None:
                det.context = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: Any) -> Generator[None]:
        outcome = yield
        report = outcome.get_result()
        if self.races is None or call.when == "setup":
            return
        mine = []
        for race in self.races.found:
            if id(race) in self.seen:
                continue
            owner = race.during or item.nodeid
            if owner == item.nodeid:
                mine.append(race)
                self.seen.add(id(race))
            elif owner in self.finished:
                self.late.append((owner, race))
                self.seen.add(id(race))
        if mine:
            text = "\n".join(line for race in mine for line in format_race(race))
            if report.passed:
                report.outcome = "failed"
                report.longrepr = f"snarl race: {len(mine)} data race(s) during this test\n{text}"
            else:  # it failed anyway: the races go in a section of its report
                report.sections.append(("snarl race", text))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.races is None:
            return
        tr = terminalreporter
        tr.write_sep("-", "snarl race")
        for owner, race in self.late:
            tr.write_line(f"in threads started by {owner} (after it ended):")
            for line in format_race(race):
                tr.write_line(line)
        for line in format_summary(self.races.summary):
            tr.write_line(line)


def _assert_state_key() -> Any:
    from _pytest.assertion import assertstate_key

    return assertstate_key
