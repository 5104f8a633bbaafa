"""Thread 0 (the explorer's runner, one OS thread for every execution) keeps nothing from one
execution to the next: no thread-local values (3.10-3.12; 3.13 gives each execution a new
thread 0 where the takeover sees a thread-local, the limit said in exploration.execution), no
context variables.  This module keeps no threading.local at import, so the runner is used."""

from __future__ import annotations

import contextvars
import threading

import pytest

from snarl.exploration.runner import explore
from snarl.runtime.workers import available

VAR: contextvars.ContextVar[int] = contextvars.ContextVar("VAR")
_LAZY: list[threading.local] = []


def _ran_on_one_thread(test) -> None:
    idents = set()

    def wrapped():
        idents.add(threading.get_ident())
        test()

    result = explore(wrapped, schedules=5, shrink=False)
    assert result.failure is None, result.failure.report
    assert result.schedules == 5
    if available():  # (3.13 gives each execution a new thread 0 once a thread-local is seen)
        assert len(idents) == 1  # the runner ran every execution: else this proves nothing


def test_context_variables_start_empty_in_every_execution():
    def test():
        assert VAR.get(None) is None
        VAR.set(2)

    _ran_on_one_thread(test)


@pytest.mark.skipif(not available(), reason="3.13 keeps thread-locals out of reach")
def test_a_thread_local_made_by_the_first_execution_is_empty_in_the_next():
    # Made lazily and kept in a global: the takeover's scan at the start cannot see it.
    def test():
        if not _LAZY:
            _LAZY.append(threading.local())
        assert not hasattr(_LAZY[0], "seen")
        _LAZY[0].seen = True

    _ran_on_one_thread(test)
