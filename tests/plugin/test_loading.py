"""The plugin loads by its entry point, by ``-p`` or a conftest, and by two of these at once."""

from __future__ import annotations

import re

import pytest

from snarl.pytest_plugin import LOCKORDER_DESC, METHOD_DESC, TIMEOUT_DESC, TRACK_DESC

from .support import output

STUCK = """
import sys
import threading


def test_registered_once(request):
    module = sys.modules["snarl.pytest_plugin"]
    names = [n for n, p in request.config.pluginmanager.list_name_plugin() if p is module]
    print("registered as", names)
    assert len(names) == 1


def test_stuck():
    threading.Event().wait(30)
"""


@pytest.mark.parametrize(
    ("autoload", "p_option", "conftest"),
    [
        pytest.param(True, False, False, id="entry-point"),
        pytest.param(True, True, False, id="entry-point-and-p"),
        pytest.param(True, False, True, id="entry-point-and-conftest"),
        pytest.param(False, False, True, id="conftest-alone"),
    ],
)
def test_each_way_of_loading_works(run, pytester, autoload, p_option, conftest):
    pytester.makepyfile(test_stuck=STUCK)
    if conftest:
        pytester.makeconftest('pytest_plugins = ["snarl.pytest_plugin"]\n')
    result = run("--snarl-timeout=0.5", autoload=autoload, p_option=p_option)

    result.assert_outcomes(failed=1, passed=1)
    assert "already registered" not in output(result)
    result.stdout.fnmatch_lines(["*Failed: Timeout after 0.5 s (--snarl-timeout) in call"])


def test_help_shows_each_text_once_for_option_and_ini(run):
    result = run("--help")

    assert result.ret == 0
    text = " ".join(result.stdout.str().split())  # pytest wraps help lines
    result.stdout.fnmatch_lines(["*--snarl-timeout=SECONDS*", "*--snarl-lockorder*"])
    for desc in (TIMEOUT_DESC, METHOD_DESC, TRACK_DESC, LOCKORDER_DESC):
        assert text.count(" ".join(desc.split())) == 2, desc  # the option and the ini key
    assert re.search(r"snarl_timeout \(string\):\s+Fail a test phase", result.stdout.str())
