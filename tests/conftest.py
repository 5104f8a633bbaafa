"""Shared fixtures: make ``snarl`` importable from the checkout, and run threads safely.

Every thread a test starts goes through the ``threads`` fixture: it is a daemon, its
exceptions are recorded, and at teardown the test's release actions run (set an Event, abort
a Barrier, release a lock) before every thread is joined.  A thread still alive then, or one
that raised, fails the test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

try:
    import snarl  # noqa: F401  (installed: CI runs `pip install .[test]`)
except ImportError:  # a plain checkout: test the source tree
    sys.path.insert(0, str(REPO / "src"))

from .helpers import ThreadKit  # noqa: E402

pytest_plugins = ["pytester"]  # tests/plugin drives pytest runs of its own


@pytest.fixture
def threads():
    kit = ThreadKit()
    try:
        yield kit
    finally:
        kit.close()
