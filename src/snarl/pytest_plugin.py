"""snarl's pytest plugin: a hung test fails with a thread dump naming lock owners and cycles.

Installing snarl registers this plugin through the ``pytest11`` entry point (name ``snarl``);
in a checkout that is not installed, load it with ``-p snarl.pytest_plugin``.  Either way, or
both at once, or from a conftest's ``pytest_plugins``: the module is registered once.

Timeouts
--------
``--snarl-timeout=SECONDS``, the ini option ``snarl_timeout``, the ``SNARL_TIMEOUT``
environment variable and the marker ``@pytest.mark.snarl_timeout(seconds)`` set the limit;
0 turns it off.  Precedence, highest first: the marker, ``--snarl-timeout``,
``SNARL_TIMEOUT``, the ini file.  A bad value anywhere ends the run before any test with one
line, ``ERROR: invalid snarl timeout 'x' from the ini file: ...`` (exit code 4); a bad marker
fails its own test with the same kind of line.

Each phase of a test (setup, call, teardown) gets its own timer of that length, so a hang in
a fixture is caught as an error in that phase.  When a phase runs longer, a watcher thread
takes a snarl snapshot while the test is still stuck and writes a banner and the dump to
standard error's file descriptor (under pytest's default ``--capture=fd`` it shows in the
test's "Captured stderr" section): every thread, what it waits for, who holds it, and a
"Found N deadlock" section for each wait-for cycle.  Then the phase is stopped by one of two
methods (``--snarl-timeout-method``, ini ``snarl_timeout_method``):

``signal`` (the default where there is ``SIGALRM`` and ``pthread_kill``, i.e. POSIX)
    ``SIGALRM`` is sent to the main thread, whose handler raises ``Failed: Timeout after N s``
    in the test wherever it is (a lock acquire, a ``join`` or a sleep is interrupted), so that
    test fails and the run goes on.  If the main thread does not respond within
    :data:`GRACE` seconds (it blocked the signal, or sits in C code that never checks for
    signals), the ``thread`` method ends the run.  snarl's handler is installed only while a
    timed phase runs; the previous one is restored after it.
``thread`` (the fallback: no signals, not the main thread, a handler set from C)
    The run ends: pytest's captured output is printed, then the dump (if it was not written
    already) and a message saying why, and the process exits with ``os._exit(1)`` (no later
    test runs; reports such as ``--junitxml`` are not written).

Exit codes: 1 when a test timed out (as for any failing test) or when the run was ended;
4 for a bad option value.  The timer never fires while a debugger is active: pytest's own pdb
(``breakpoint()``, ``--pdb``), a ``bdb``/``pdb``/``pydevd``/``debugpy`` trace function, or a
``sys.monitoring`` debugger tool.

Threads a timed-out test leaves blocked (a deadlock's workers) stay behind: Python cannot stop
a thread.  The failure message names them, a later timeout's dump marks those still there,
and the terminal summary lists those still alive.  A non-daemon one would keep the
interpreter from exiting: at exit snarl gives such threads 1 s, then ends the process with the
run's exit status, saying so (``atexit`` handlers registered after ``threading``'s are skipped).

``--snarl-track`` (ini ``snarl_track``) runs the session under :func:`snarl.install`: dumps
then name the owner of every lock taken with a bare ``acquire()``, and how long each wait
has lasted.

Lock order
----------
``--snarl-lockorder`` (ini ``snarl_lockorder``) runs the session under
``snarl.install(lockorder=True)``: the lock-order validator (lockdep for Python, see
:mod:`snarl.analysis.lockorder`) records which lock classes (creation sites) are taken while
holding which, and the test during which an order closes a cycle fails with the report (both
orders, each with the thread and stack that first took it), even though that run did not
hang.  The order is checked when a wait begins: in a real deadlock, the thread whose wait
closes the cycle gets :class:`snarl.errors.LockOrderViolation` instead of waiting forever, so
the test fails with the report instead of hanging.  A report is dropped at the end of its
phase if one of its locks has become group-owned meanwhile (released by another thread than
the one that took it, as a readers-writer lock's resource lock is: see
:mod:`snarl.analysis.lockorder`).  Reports from any thread count for the
phase (setup, call, teardown) running when they are recorded; one recorded during collection
or after the last test is listed in the terminal summary and makes the exit status 1.  The
order graph is kept for the whole session, so the test that completes an inversion begun by
an earlier test is the one that fails, and each cycle is reported once.

Limits
------
* Locks created before the install are not tracked: module-level locks of modules imported
  before the initial conftests were loaded (when the plugin is loaded by its entry point or
  ``-p``; before ``pytest_configure`` when a conftest loads it), locks bound earlier with
  ``from threading import Lock``, and ``_thread.allocate_lock`` calls (see
  :mod:`snarl.sync.patch`).  A test calling ``snarl.install()`` or ``uninstall()`` itself
  changes the session's installation.
* The signal method owns ``SIGALRM`` while a timed phase runs; an alarm that is not snarl's
  goes to the program's handler (the one found when the phase began, or the default action).
  The test sees that handler as natively: ``signal.getsignal(SIGALRM)`` returns it, and
  ``signal.signal(SIGALRM, h)`` makes ``h`` the program's handler (getting the test's alarms,
  and installed when the phase ends) while snarl's stays in front, so the phase still times
  out (:mod:`snarl.pytest_sigalrm`; code that bound ``signal.signal`` earlier replaces
  snarl's handler, and the run is then ended at the timeout).  Do not combine it with
  another plugin's ``SIGALRM`` timer (pytest-timeout's signal method).  A test that goes on
  after the timeout was raised in it (a ``subTest`` or subtest records the failure and
  continues, a ``finally`` waits again, an ``except BaseException`` swallows it) gets it a
  second time after :data:`GRACE` seconds; if it still goes on, the run is ended as by the
  ``thread`` method.
* A timed phase has a watcher thread, which makes the process multi-threaded; a test that
  calls ``os.fork()`` would get 3.12's and 3.13's ``DeprecationWarning`` about it.  The watcher is
  stopped just before a fork; after it, the signal method times the rest of the phase with
  an ``ITIMER_REAL`` timer (whose ``SIGALRM`` brings the watcher back), so until then a test
  stuck in C code that never checks for signals is not caught; the thread method starts a
  new watcher once the fork has been counted: at once on 3.12, and on 3.13 (which counts
  threads after the fork hooks) at the forking frame's next call or return, through a
  one-shot profile function (:mod:`snarl.pytest_fork`).
* The marker is read as a test's setup begins, so one added later (``request.applymarker``
  in a fixture) is not seen; without a timeout from the command line, the environment or
  the ini file, the marker is looked for once, after collection.

Layout: this module holds the options, the settings and the session wiring; the timeouts
(:mod:`snarl.pytest_timeouts`, with :mod:`snarl.pytest_fork`, :mod:`snarl.pytest_sigalrm` and
:mod:`snarl.pytest_frames`) and the lock-order reports (:mod:`snarl.pytest_lockorder`) are
loaded only when asked for.

Without any of these options the plugin adds its options and marker, looks for the marker once
after collection, and nothing more: no hook of it runs per test, nothing is installed, no
signal handler is set.  It imports nothing of snarl itself until a feature is on (importing
it does import the ``snarl`` package, as any submodule import does).
"""

from __future__ import annotations

import math
import os
import signal
import sys
from dataclasses import dataclass
from typing import Any

import pytest

__all__ = [
    "ENV_VAR",
    "EXIT_CODE",
    "GRACE",
    "LOCKORDER_DESC",
    "METHOD_DESC",
    "TIMEOUT_DESC",
    "TRACK_DESC",
]

TIMEOUT_DESC = (
    "Fail a test phase (setup, call, teardown) that runs longer than this many seconds, after "
    "printing a snarl dump of every thread with lock owners and deadlock cycles; 0 turns it "
    "off.  Precedence: @pytest.mark.snarl_timeout, --snarl-timeout, SNARL_TIMEOUT, ini."
)
"""Help text of ``--snarl-timeout`` and the ini option ``snarl_timeout``."""

METHOD_DESC = (
    "How a timed-out test is stopped: 'signal' (SIGALRM fails the test and the run goes on; "
    "the default on POSIX) or 'thread' (the run ends with exit code 1)."
)
"""Help text of ``--snarl-timeout-method`` and the ini option ``snarl_timeout_method``."""

TRACK_DESC = (
    "Run the session under snarl.install(): dumps name the owner of every lock, even one "
    "taken with a bare acquire()."
)
"""Help text of ``--snarl-track`` and the ini option ``snarl_track``."""

LOCKORDER_DESC = (
    "Run the session under snarl's lock-order validator and fail the test that takes locks "
    "in an order that can deadlock (an inversion), with both acquisition sites."
)
"""Help text of ``--snarl-lockorder`` and the ini option ``snarl_lockorder``."""

ENV_VAR = "SNARL_TIMEOUT"
"""The environment variable read for a timeout when ``--snarl-timeout`` is not given."""

GRACE = 2.0
"""Seconds the test's thread has to respond to ``SIGALRM`` before the run is ended."""

EXIT_CODE = 1
"""The exit status of a run that a timeout ended (``os._exit``)."""

METHODS = ("signal", "thread")
_ATTEMPTS = 2  # times the timeout is raised in a test that goes on before the run is ended
_SIGNALS = hasattr(signal, "SIGALRM") and hasattr(signal, "pthread_kill")
_MARKER = "snarl_timeout"
_ENTRY_POINT = "snarl"  # the name in pyproject.toml's [project.entry-points.pytest11]
_DEBUGGERS = frozenset(
    {"bdb", "pdb", "pydevd", "pydevd_frame_evaluator", "_pydevd_bundle", "_pydevd_frame_eval"}
    | {"debugpy"}
)
_EXIT_GRACE = 1.0  # seconds non-daemon threads left behind get at interpreter exit


# ---- options ---------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the ``--snarl-*`` options and their ini twins (help texts: the ``*_DESC`` constants)."""
    group = parser.getgroup("snarl", "snarl: thread dumps of hung tests, lock-order checking")
    group.addoption(
        "--snarl-timeout",
        dest="snarl_timeout",
        metavar="SECONDS",
        default=None,
        help=TIMEOUT_DESC,
    )
    group.addoption(
        "--snarl-timeout-method",
        dest="snarl_timeout_method",
        choices=METHODS,
        default=None,
        help=METHOD_DESC,
    )
    group.addoption(
        "--snarl-track", dest="snarl_track", action="store_true", default=None, help=TRACK_DESC
    )
    group.addoption(
        "--snarl-lockorder",
        dest="snarl_lockorder",
        action="store_true",
        default=None,
        help=LOCKORDER_DESC,
    )
    group.addoption(
        "--snarl-races",
        dest="snarl_races",
        action="store_true",
        default=False,
        help="detect data races: a test during which two threads accessed the same state"
        " unordered (one a write) fails with the report (snarl race; docs/races.md)",
    )
    parser.addini("snarl_timeout", TIMEOUT_DESC)
    parser.addini("snarl_timeout_method", METHOD_DESC)
    parser.addini("snarl_track", TRACK_DESC, type="bool", default=False)
    parser.addini("snarl_lockorder", LOCKORDER_DESC, type="bool", default=False)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Make a second way of loading this module a no-op instead of an error.

    pytest registers the entry point as ``snarl`` and ``-p snarl.pytest_plugin`` (or a
    conftest's ``pytest_plugins``) as ``snarl.pytest_plugin``; the same module under two names
    is refused ("Plugin already registered under a different name").  Whichever comes first
    blocks the other name.
    """
    name = pluginmanager.get_name(sys.modules[__name__])
    other = {_ENTRY_POINT: __name__, __name__: _ENTRY_POINT}.get(name or "")
    if other is not None and pluginmanager.get_plugin(other) is None:
        pluginmanager.set_blocked(other)


@dataclass(frozen=True)
class _Settings:
    timeout: float
    source: str  # where the timeout came from, for messages
    method: str
    track: bool
    lockorder: bool


def _timeout(value: object, where: str) -> float:
    """``value`` as a number of seconds; UsageError naming ``where`` otherwise."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or isinstance(value, bool):
        raise pytest.UsageError(
            f"invalid snarl timeout {value!r} from {where}: "
            "expected a number of seconds (0 turns the timeout off)"
        )
    return seconds


def _read_settings(config: pytest.Config) -> _Settings:
    """The session's settings; every source given is checked, the first present wins."""
    found: list[tuple[float, str]] = []
    cli = config.getoption("snarl_timeout")
    if cli is not None:
        found.append((_timeout(cli, "--snarl-timeout"), "--snarl-timeout"))
    env = os.environ.get(ENV_VAR)
    if env is not None and env.strip():
        found.append((_timeout(env, f"the {ENV_VAR} environment variable"), ENV_VAR))
    ini = config.getini("snarl_timeout")
    if isinstance(ini, str) and ini.strip():
        found.append((_timeout(ini, "the ini file"), "ini snarl_timeout"))
    timeout, source = found[0] if found else (0.0, "")

    method = config.getoption("snarl_timeout_method")
    if method is None:
        method = str(config.getini("snarl_timeout_method") or "").strip() or None
        if method is not None and method not in METHODS:
            raise pytest.UsageError(
                f"invalid snarl timeout method {method!r} from the ini file: "
                "choose 'signal' or 'thread'"
            )
    if method == "signal" and not _SIGNALS:
        raise pytest.UsageError(
            "snarl timeout method 'signal' needs SIGALRM and pthread_kill (POSIX); use 'thread'"
        )
    return _Settings(
        timeout,
        source,
        method or ("signal" if _SIGNALS else "thread"),
        bool(config.getoption("snarl_track") or config.getini("snarl_track")),
        bool(config.getoption("snarl_lockorder") or config.getini("snarl_lockorder")),
    )


# ---- session wiring -----------------------------------------------------------------------


@dataclass
class _Session:
    installation: Any = None  # the snarl.install() result, while installed
    lockorder: Any = None  # the pytest_lockorder._LockOrder collecting reports, when on


_SESSION = pytest.StashKey[_Session]()


def _install(config: pytest.Config, track: bool, lockorder: bool) -> None:
    """snarl.install() for the session (idempotent); the state found is restored at the end."""
    state = config.stash.setdefault(_SESSION, _Session())
    if state.installation is not None or not (track or lockorder):
        return
    from .sync import install  # lazily: nothing of snarl.sync runs unless asked

    if lockorder:
        from .pytest_lockorder import _LockOrder

        state.lockorder = _LockOrder()
        state.installation = install(lockorder=True, report=state.lockorder.record)
        # A wait that closes a cycle while another thread holds the lock is refused
        # (LockOrderViolation in the waiting thread) rather than left to deadlock.
        state.installation.validator.refuse_waits = True
        state.lockorder.validator = state.installation.validator
    else:
        state.installation = install()
    config.add_cleanup(lambda: state.installation.__exit__(None, None, None))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Install tracking before the initial conftests are imported, so their locks are tracked."""
    try:
        track = early_config.known_args_namespace.snarl_track or early_config.getini("snarl_track")
        order = early_config.known_args_namespace.snarl_lockorder or early_config.getini(
            "snarl_lockorder"
        )
    except (AttributeError, ValueError):
        return  # pytest_configure reads the options again and installs then
    _install(early_config, bool(track), bool(order))


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, check every option, and turn on what was asked for."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(seconds): fail this test if a phase runs longer than `seconds`, after a "
        "snarl thread dump (0 turns the timeout off; overrides --snarl-timeout).",
    )
    settings = _read_settings(config)
    _install(config, settings.track, settings.lockorder)
    if config.getoption("snarl_races", False):
        from .pytest_races import RacePlugin  # the detector loads only when asked for

        config.pluginmanager.register(RacePlugin(config), "snarl-races")
    state = config.stash[_SESSION]
    if state.lockorder is not None:
        config.pluginmanager.register(state.lockorder, "snarl-lockorder")
    if settings.timeout > 0:
        _register_timeouts(config, settings)
    else:
        config.pluginmanager.register(_MarkerGate(settings), "snarl-marker-gate")


def _register_timeouts(config: pytest.Config, settings: _Settings) -> None:
    from .pytest_timeouts import _MarkerCheck, _Timeouts  # only when a timeout is asked for

    timeouts = _Timeouts(config, settings)
    config.pluginmanager.register(timeouts, "snarl-timeouts")
    config.pluginmanager.register(_MarkerCheck(timeouts), "snarl-marker-check")


class _MarkerGate:
    """With no global timeout: turn timeouts on only if some collected test has the marker."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Look for the marker once, after collection."""
        manager = config.pluginmanager
        if manager.get_plugin("snarl-timeouts") is None and any(
            item.get_closest_marker(_MARKER) is not None for item in items
        ):
            _register_timeouts(config, self.settings)
