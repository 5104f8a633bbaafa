"""Fixtures for the check-interval tests: the emulation is always off again after a test."""

from __future__ import annotations

import sys

import pytest

import snarl


@pytest.fixture(autouse=True)
def emulation_off():
    switch = sys.getswitchinterval()
    yield
    snarl.setcheckinterval(0)
    sys.setswitchinterval(switch)
