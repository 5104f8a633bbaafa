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
the test fails with the report instead of hanging.  Reports from any thread count for the
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
  goes to the handler found when the phase began (the program's own ``SIGALRM`` handler, or
  the default action).  Do not combine it with another plugin's ``SIGALRM`` timer
  (pytest-timeout's signal method).  A test that goes on after the timeout was raised in it
  (a ``subTest`` or subtest records the failure and continues, a ``finally`` waits again,
  an ``except BaseException`` swallows it) gets it a second time after :data:`GRACE` seconds;
  if it still goes on, the run is ended as by the ``thread`` method.
* The marker is read as a test's setup begins, so one added later (``request.applymarker``
  in a fixture) is not seen; without a timeout from the command line, the environment or
  the ini file, the marker is looked for once, after collection.

Without any of these options the plugin adds its options and marker, looks for the marker once
after collection, and nothing more: no hook of it runs per test, nothing is installed, no
signal handler is set.  It imports nothing of snarl itself until a feature is on (importing
it does import the ``snarl`` package, as any submodule import does).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
import traceback
import types
from _thread import allocate_lock, get_ident, start_new_thread
from collections import deque
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest


def _current_frames() -> dict[int, types.FrameType]:
    from .frames import current_frames  # (imported late: the plugin loads in every pytest run)

    return current_frames()


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
    lockorder: _LockOrder | None = None


_SESSION = pytest.StashKey[_Session]()


def _install(config: pytest.Config, track: bool, lockorder: bool) -> None:
    """snarl.install() for the session (idempotent); the state found is restored at the end."""
    state = config.stash.setdefault(_SESSION, _Session())
    if state.installation is not None or not (track or lockorder):
        return
    from .sync import install  # lazily: nothing of snarl.sync runs unless asked

    if lockorder:
        state.lockorder = _LockOrder()
        state.installation = install(lockorder=True, report=state.lockorder.record)
        # A wait that closes a cycle while another thread holds the lock is refused
        # (LockOrderViolation in the waiting thread) rather than left to deadlock.
        state.installation.validator.refuse_waits = True
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


# ---- timeouts ---------------------------------------------------------------------------------

_ARMED, _FIRING, _SIGNALLED, _DONE = "armed", "firing", "signalled", "done"


@dataclass(eq=False)
class _Job:
    """One timed phase.  ``state`` moves armed → firing → signalled → done under ``mutex``."""

    nodeid: str
    when: str
    timeout: float
    source: str
    method: str
    why: str  # why the thread method is used, if it is
    main: int  # ident of the thread running the phase
    # (ident, native id) of the threads alive when the phase began: idents alone are reused
    # (a thread that ended during setup, such as a watcher, can pass its ident on to a new one)
    before: frozenset[tuple[int | None, int | None]]
    state: str = _ARMED
    mutex: Any = field(default_factory=allocate_lock)
    cancel: Any = field(default_factory=allocate_lock)  # released when the phase ends
    finished: Any = field(default_factory=allocate_lock)  # released when the watcher is done
    acked: Any = field(default_factory=allocate_lock)  # released by the signal handler
    responded: bool = False
    debugging: bool = False
    message: str = ""
    previous: Any = None  # the SIGALRM handler to restore

    def __post_init__(self) -> None:
        self.cancel.acquire()
        self.finished.acquire()
        self.acked.acquire()


@dataclass(frozen=True)
class _LeftBehind:
    ident: int
    label: str
    daemon: bool | None
    nodeid: str


class _Timeouts:
    """The timer of every test phase, the dump on expiry, and stopping the test."""

    def __init__(self, config: pytest.Config, settings: _Settings) -> None:
        self.config = config
        self.settings = settings
        self.left: dict[int, _LeftBehind] = {}
        self._job: _Job | None = None  # the phase now running, if timed
        self._signalled: _Job | None = None  # the job whose SIGALRM is on its way
        self._previous: Any = signal.SIG_DFL  # the SIGALRM handler found by the last arming
        self._handler = self._on_alarm  # one object, so "is it ours" is an identity test
        self._exit_hook = False
        self._exitstatus = 0
        self._cache: dict[str, tuple[float, str, str | None]] = {}

    # -- hooks --------------------------------------------------------------------------------
    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, Any, None]:
        """Time the setup phase."""
        yield from self._guard(item, "setup")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, None]:
        """Time the call phase."""
        yield from self._guard(item, "call")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, Any, None]:
        """Time the teardown phase."""
        yield from self._guard(item, "teardown")

    def pytest_enter_pdb(self) -> None:
        """A debugger session (``breakpoint()``, ``--pdb``) switches the running timer off."""
        job = self._job
        if job is not None:
            job.debugging = True

    def pytest_sessionfinish(self, exitstatus: int) -> None:
        """Remember the exit status for the exit check of threads left behind."""
        self._exitstatus = int(exitstatus)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """List the threads that timed-out tests left behind and that are still alive."""
        alive = self._still_alive()
        if not alive:
            return
        terminalreporter.section("snarl", sep="-")
        for nodeid in dict.fromkeys(t.nodeid for t in alive):
            labels = ", ".join(
                t.label + ("" if t.daemon else " (non-daemon)") for t in alive if t.nodeid == nodeid
            )
            terminalreporter.write_line(
                f"left behind by {nodeid}, still alive: {labels}", yellow=True
            )

    # -- arming ---------------------------------------------------------------------------------
    def _timeout_for(self, item: pytest.Item) -> tuple[float, str, str | None]:
        """(seconds, where they came from, error); the marker's value is checked here."""
        found = self._cache.get(item.nodeid)
        if found is None:
            found = self._read_marker(item)
            self._cache = {item.nodeid: found}  # one item at a time: setup, call, teardown
        return found

    def _read_marker(self, item: pytest.Item) -> tuple[float, str, str | None]:
        marker = item.get_closest_marker(_MARKER)
        if marker is None:
            return self.settings.timeout, self.settings.source, None
        args = [*marker.args, *([marker.kwargs["seconds"]] if "seconds" in marker.kwargs else [])]
        if len(args) != 1 or set(marker.kwargs) - {"seconds"}:
            return (
                0.0,
                "",
                f"invalid {_MARKER} marker on {item.nodeid}: it takes one argument, seconds",
            )
        try:
            seconds = _timeout(args[0], f"the {_MARKER} marker of {item.nodeid}")
        except pytest.UsageError as e:
            return 0.0, "", str(e)
        return seconds, f"@pytest.mark.{_MARKER}", None

    def _guard(self, item: pytest.Item, when: str) -> Generator[None, Any, None]:
        timeout, source, _ = self._timeout_for(item)  # a bad marker: _MarkerCheck fails it
        if timeout <= 0:
            yield
            return
        job = self._arm(item.nodeid, when, timeout, source)
        try:
            yield
        finally:
            self._disarm(job)

    def _arm(self, nodeid: str, when: str, timeout: float, source: str) -> _Job:
        method = self.settings.method
        why = "the timeout method is 'thread'" if _SIGNALS else "there is no SIGALRM here"
        main = get_ident()
        if method == "signal" and main != threading.main_thread().ident:
            method, why = "thread", "the test does not run in the main thread"
        before = frozenset((t.ident, t.native_id) for t in threading.enumerate())
        job = _Job(nodeid, when, timeout, source, method, why, main, before)
        if method == "signal":
            previous = signal.getsignal(signal.SIGALRM)
            if previous is None:  # a handler set from C: leave it alone
                job.method, job.why = "thread", "SIGALRM has a handler snarl cannot restore"
            else:
                job.previous = self._previous = previous
                signal.signal(signal.SIGALRM, self._handler)
        self._job = job
        start_new_thread(self._watch, (job,))  # a _thread thread: invisible to threading
        return job

    def _disarm(self, job: _Job) -> None:
        self._job = None  # first: from here on a late SIGALRM is only acknowledged
        with job.mutex:
            was, job.state = job.state, _DONE
        job.cancel.release()
        if was in (_FIRING, _SIGNALLED):  # the watcher is writing or waiting: let it finish
            job.finished.acquire(timeout=2 * GRACE)
        # Restore the previous handler unless a SIGALRM is still pending (blocked by the test):
        # that one finds snarl's handler, which ignores it, rather than the default action.
        if (
            job.method == "signal"
            and (was != _SIGNALLED or job.responded)
            and signal.getsignal(signal.SIGALRM) is self._handler
        ):
            signal.signal(signal.SIGALRM, job.previous)

    def _on_alarm(self, signum: int, frame: types.FrameType | None) -> None:
        __tracebackhide__ = True
        job = self._signalled
        if job is None:  # not snarl's: the program's own alarm goes where it went before
            previous = self._previous
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:  # the default action: the process ends
                signal.signal(signal.SIGALRM, signal.SIG_DFL)
                signal.raise_signal(signal.SIGALRM)
            return
        self._signalled = None
        job.responded = True
        job.acked.release()
        if self._job is job:
            raise pytest.fail.Exception(job.message)

    # -- expiry (in the watcher thread) -----------------------------------------------------------
    def _watch(self, job: _Job) -> None:
        try:
            if job.cancel.acquire(timeout=job.timeout):
                return
            if self._debugging(job):
                return
            with job.mutex:
                if job.state != _ARMED:
                    return
                job.state = _FIRING
            if job.method == "thread":
                self._end_run(job, f"{job.why}, so the test cannot be interrupted", dumped=False)
            elif signal.getsignal(signal.SIGALRM) is not self._handler:
                self._end_run(job, "the test replaced snarl's SIGALRM handler", dumped=False)
            self._write(self._dump(job))
            for _attempt in range(_ATTEMPTS):
                with job.mutex:
                    if job.state not in (_FIRING, _SIGNALLED):
                        return  # the phase ended while the dump was written
                    job.state = _SIGNALLED
                    self._signalled = job
                    signal.pthread_kill(job.main, signal.SIGALRM)
                if not job.acked.acquire(timeout=GRACE):
                    with job.mutex:
                        if job.state == _DONE:
                            return  # it ended on its own, signal still pending (see _disarm)
                    self._end_run(
                        job,
                        f"the test's thread did not respond to SIGALRM within {GRACE:g} s (the "
                        "signal is blocked, or it is stuck in C code that does not check for "
                        "signals)",
                        dumped=True,
                    )
                # The Failed was raised in the test: the phase should end now.  It may not: a
                # subTest records it and goes on, a `finally` waits again (Condition.wait
                # retaking a lock held forever), an `except BaseException` swallows it.
                if job.cancel.acquire(timeout=GRACE):
                    return
            self._end_run(
                job,
                f"the timeout was raised in the test {_ATTEMPTS} times and the test went on "
                "(a subTest or subtest records it and continues, a `finally` that waits, or an "
                "`except` that catches it)",
                dumped=True,
            )
        except BaseException as e:  # never raise in a _thread thread: report and stop
            self._write(f"snarl: the timeout watcher failed: {type(e).__name__}: {e}\n")
        finally:
            job.finished.release()

    def _debugging(self, job: _Job) -> bool:
        if job.debugging:
            return True
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is not None and monitoring.get_tool(monitoring.DEBUGGER_ID) is not None:
            return True
        if _is_debugger(sys.gettrace()) or _is_debugger(threading.gettrace()):
            return True
        frame = _current_frames().get(job.main)
        depth = 0
        while frame is not None and depth < 1000:
            name = frame.f_globals.get("__name__")
            if (type(name) is str and name.partition(".")[0] in _DEBUGGERS) or _is_debugger(
                frame.f_trace
            ):
                return True
            frame, depth = frame.f_back, depth + 1
        return False

    def _dump(self, job: _Job) -> str:
        """Banner, dump and notes; also sets the failure message and records threads left."""
        from .threaddump import format_dump, snapshot  # lazily: only when a timer fires

        me = get_ident()
        snap = snapshot()
        threads, cut = [], 0
        for t in snap.threads:
            if t.ident == job.main:
                frames, cut = _trim_runner(t.frames)
                t = replace(t, frames=frames)
            if t.ident != me:  # the watcher is snarl's, not the program's
                threads.append(t)
        snap = replace(snap, threads=tuple(threads))
        earlier = [
            self.left[t.ident]
            for t in snap.threads
            if t.ident in self.left and self.left[t.ident].label == t.label
        ]
        new = [
            t
            for t in snap.threads
            if (t.ident, t.native_id) not in job.before and t.ident != job.main
        ]
        for t in new:
            self.left[t.ident] = _LeftBehind(t.ident, t.label, t.daemon, job.nodeid)

        what = f"Timeout after {job.timeout:g} s ({job.source})"
        lines = ["", _banner(f"snarl: {what}: {job.nodeid} ({job.when})")]
        lines.append(format_dump(snap, "text").rstrip("\n"))
        if cut:
            lines += ["", f"({cut} outer frames of pytest, pluggy and runpy are not shown)"]
        if earlier:
            lines.append("")
            for nodeid in dict.fromkeys(t.nodeid for t in earlier):
                names = ", ".join(t.label for t in earlier if t.nodeid == nodeid)
                lines.append(f"Left behind by the earlier timeout of {nodeid}: {names}")
        lines += [_banner("snarl: end of dump"), ""]

        summary = [f"{what} in {job.when}"]
        if snap.deadlocks:
            for d in snap.deadlocks:
                names = [s.thread_name or f"{s.thread:#x}" for s in d.steps]
                summary.append("deadlock: " + " -> ".join(f'"{n}"' for n in [*names, names[0]]))
        where = (
            f"'Captured stderr {job.when}'"
            if self.config.getoption("capture", "fd") == "fd"
            else "stderr"
        )
        summary.append(f"snarl's thread dump is in {where}")
        if new:
            labels = ", ".join(t.label for t in new)
            summary.append(f"stay behind, blocked (Python cannot stop a thread): {labels}")
        job.message = "\n".join(summary)
        if any(t.daemon is False for t in new):
            self._arrange_exit_check()
        return "\n".join(lines) + "\n"

    def _end_run(self, job: _Job, reason: str, *, dumped: bool) -> None:
        """Print what was captured, the dump if not done yet and why, then exit the process."""
        capman = self.config.pluginmanager.getplugin("capturemanager")
        out = err = ""
        if capman is not None:
            try:
                capman.suspend_global_capture(in_=True)
                out, err = capman.read_global_capture()
            except Exception:  # a pytest without these: the output stays where it was
                pass
        parts = [""]
        if out:
            parts += [_banner("captured stdout", "-"), out.rstrip("\n")]
        if err:
            parts += [_banner("captured stderr", "-"), err.rstrip("\n")]
        self._write("\n".join(parts) + "\n")
        if not dumped:
            self._write(self._dump(job))
        self._write(
            "\n"
            + _banner(f"snarl: ending the run: {job.nodeid} ({job.when})")
            + f"\nTimeout after {job.timeout:g} s ({job.source}), and {reason}.\n"
            f"Python cannot stop a thread, so snarl ends the pytest run here: exit code "
            f"{EXIT_CODE}; later tests did not run and no reports were written.\n"
        )
        os._exit(EXIT_CODE)

    @staticmethod
    def _write(text: str) -> None:
        data = text.encode("utf-8", "backslashreplace")
        while data:
            data = data[os.write(2, data) :]

    # -- threads left behind ----------------------------------------------------------------------
    def _still_alive(self) -> list[_LeftBehind]:
        alive = _current_frames()
        return [t for ident, t in self.left.items() if ident in alive]

    def _arrange_exit_check(self) -> None:
        register = getattr(threading, "_register_atexit", None)
        if self._exit_hook or register is None:
            return
        self._exit_hook = True
        with contextlib.suppress(RuntimeError):  # the interpreter is already shutting down
            register(self._exit_check)

    def _exit_check(self) -> None:
        """At exit, before threading joins non-daemon threads: do not wait for stuck ones."""
        deadline = time.monotonic() + _EXIT_GRACE
        stuck = [t for t in self._still_alive() if not t.daemon]
        while stuck and time.monotonic() < deadline:
            time.sleep(0.01)
            stuck = [t for t in self._still_alive() if not t.daemon]
        if stuck:
            names = ", ".join(f"{t.label} ({t.nodeid})" for t in stuck)
            self._write(
                f"snarl: non-daemon threads left behind by timed-out tests are still blocked: "
                f"{names}; the interpreter would wait for them forever, so snarl ends the "
                f"process now with the run's exit status {self._exitstatus}.\n"
            )
            os._exit(self._exitstatus)


class _MarkerCheck:
    """Fails the setup of a test whose marker has a bad value (a plain hook, not a wrapper)."""

    def __init__(self, timeouts: _Timeouts) -> None:
        self.timeouts = timeouts

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """A bad marker fails its test's setup, with one line (before any fixture runs)."""
        error = self.timeouts._timeout_for(item)[2]
        if error is not None:
            pytest.fail(error, pytrace=False)


def _banner(title: str, sep: str = "+") -> str:
    return f" {title} ".center(max(79, len(title) + 8), sep)


def _runner_dirs() -> tuple[str, ...]:
    import _pytest
    import pluggy

    return tuple(os.path.dirname(m.__file__ or "") + os.sep for m in (_pytest, pluggy, pytest))


def _outer_runner_frames(places: list[tuple[str, str]]) -> int:
    """How many of the outermost frames (``places``: filename and function, outermost first)
    belong to pytest, pluggy, runpy or a ``<module>`` that started them."""
    dirs = _runner_dirs()
    n = 0
    for filename, function in places:
        if not (filename.startswith(dirs) or "runpy" in filename or function == "<module>"):
            break
        n += 1
    return n


def _trim_runner(frames: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """A dump's frames (innermost first) without the pytest machinery below the test.

    The runner frame nearest the test stays (it shows what called it).  Returns the frames
    kept and how many were cut.
    """
    n = _outer_runner_frames([(f.filename, f.function) for f in reversed(frames)])
    if n <= 1 or n >= len(frames):
        return frames, 0
    return frames[: len(frames) - n + 1], n - 1


def _trim_stack(stack: traceback.StackSummary) -> traceback.StackSummary:
    """The same cut for a traceback stack (outermost first)."""
    n = _outer_runner_frames([(f.filename, f.name) for f in stack])
    if n <= 1 or n >= len(stack):
        return stack
    return traceback.StackSummary.from_list(list(stack)[n - 1 :])


def _is_debugger(fn: object) -> bool:
    """Whether a trace function belongs to a known debugger (read without calling anything)."""
    if fn is None:
        return False
    func = fn.__func__ if isinstance(fn, types.MethodType) else fn
    module = func.__module__ if isinstance(func, types.FunctionType) else type(func).__module__
    return type(module) is str and module.partition(".")[0] in _DEBUGGERS


# ---- lock order -------------------------------------------------------------------------------


class _LockOrder:
    """Collects the validator's reports and fails the test phase that recorded one."""

    def __init__(self) -> None:
        self._found: deque[Any] = deque()  # appended from any thread (deque.append is atomic)
        self.outside: list[tuple[str, Any]] = []

    def record(self, inversion: Any) -> None:
        """The validator's report callable: runs in the thread that closed the cycle."""
        self._found.append(inversion)

    def _drain(self) -> list[Any]:
        found = []
        while True:
            try:
                found.append(self._found.popleft())
            except IndexError:
                return found

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
