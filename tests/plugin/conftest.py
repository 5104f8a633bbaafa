"""Fixtures for the pytest plugin's tests: run pytest in a subprocess on files made by pytester.

pytest refuses ``pytest_plugins`` in a conftest below the rootdir's first level when the whole
suite runs, so the ``pytester`` plugin is loaded here in ``pytest_configure`` unless something
(``tests/conftest.py``, ``-p pytester``) already did.

Every run gets the snarl that this test process imports (``PYTHONPATH`` names its source tree
unless it is installed), no ``SNARL_TIMEOUT`` from outside, and one of two ways of loading the
plugin:

* ``autoload=False`` (the default): ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 ... -p
  snarl.pytest_plugin``, the same whether or not snarl is pip-installed, and quick (no other
  installed plugin is loaded); ``p_option=False`` leaves ``-p`` out (a conftest loads it);
* ``autoload=True``: the ``pytest11`` entry point, snarl's own when it is installed, otherwise
  an equivalent one from a ``.dist-info`` directory written into the test directory.
"""

from __future__ import annotations

import importlib.metadata
import site
from pathlib import Path

import pytest

import snarl


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def _source_root() -> Path | None:
    """The directory to put on PYTHONPATH for the subprocess, or None if snarl is installed."""
    root = Path(snarl.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    return None if root in installed else root


def _has_entry_point() -> bool:
    return any(
        ep.name == "snarl" and ep.value == "snarl.pytest_plugin"
        for ep in importlib.metadata.entry_points(group="pytest11")
    )


ENTRY_POINTS = "[pytest11]\nsnarl = snarl.pytest_plugin\n"
"""The entry point section a wheel of snarl carries (pyproject.toml)."""


class Runner:
    """Runs pytest in a subprocess in ``pytester.path``; see the module docstring."""

    def __init__(self, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pytester = pytester
        self.monkeypatch = monkeypatch
        root = _source_root()
        if root is not None:
            monkeypatch.setenv("PYTHONPATH", str(root))
        monkeypatch.delenv("SNARL_TIMEOUT", raising=False)
        # pytest prints whole failure messages in its short summary on CI (CI or BUILD_NUMBER
        # set) and trims them to one line elsewhere: the inner run's output must not depend on it.
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.delenv("BUILD_NUMBER", raising=False)

    def __call__(
        self,
        *args: str,
        autoload: bool = False,
        p_option: bool | None = None,
        timeout: float = 60,
    ) -> pytest.RunResult:
        """pytest ``args`` in a subprocess; pytester fails the test if it runs over ``timeout``.

        ``p_option`` (default: ``not autoload``) adds ``-p snarl.pytest_plugin``.
        """
        if autoload:
            self.monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)
            if not _has_entry_point():
                info = self.pytester.path / "snarl_entry_point-0.dist-info"
                info.mkdir(exist_ok=True)
                (info / "METADATA").write_text(
                    "Metadata-Version: 2.1\nName: snarl-entry-point\nVersion: 0\n"
                )
                (info / "entry_points.txt").write_text(ENTRY_POINTS)
        else:
            self.monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        if p_option if p_option is not None else not autoload:
            args = ("-p", "snarl.pytest_plugin", *args)
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=timeout)


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """A :class:`Runner` for this test's pytester directory."""
    return Runner(pytester, monkeypatch)
