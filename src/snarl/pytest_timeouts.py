"""The timeouts of snarl's pytest plugin: each timed test phase, the dump on expiry, and
stopping the test (behaviour and options: :mod:`snarl.pytest_plugin`).

Loaded by the plugin only when a timeout is asked for (``--snarl-timeout``, the ini option,
``SNARL_TIMEOUT``, or a collected test carrying the marker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import types
from _thread import allocate_lock, get_ident, start_new_thread
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pytest

from .pytest_fork import _ARMED, _ForkPause
from .pytest_frames import _banner, _is_debugger, _trim_runner
from .pytest_plugin import (
    _ATTEMPTS,
    _DEBUGGERS,
    _EXIT_GRACE,
    _MARKER,
    _SIGNALS,
    EXIT_CODE,
    GRACE,
    _timeout,
)
from .pytest_sigalrm import _AlarmView, native_getsignal, native_signal

if TYPE_CHECKING:
    from .pytest_plugin import _Settings


def _current_frames() -> dict[int, types.FrameType]:
    from .frames import current_frames  # (imported late: the plugin loads in every pytest run)

    return current_frames()


# ---- timeouts ---------------------------------------------------------------------------------

_FIRING, _SIGNALLED, _DONE = "firing", "signalled", "done"  # (and _ARMED: pytest_fork)


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
    deadline: float = 0.0  # time.monotonic() when the phase times out
    paused: bool = False  # the watcher stopped for a fork (see _Timeouts._before_fork)

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


class _Timeouts(_ForkPause):
    """The timer of every test phase, the dump on expiry, and stopping the test."""

    def __init__(self, config: pytest.Config, settings: _Settings) -> None:
        self.config = config
        self.settings = settings
        self.left: dict[int, _LeftBehind] = {}
        self._job: _Job | None = None  # the phase now running, if timed
        self._signalled: _Job | None = None  # the job whose SIGALRM is on its way
        self._previous: Any = signal.SIG_DFL  # the SIGALRM handler found by the last arming
        self._handler = self._on_alarm  # one object, so "is it ours" is an identity test
        self._view = _AlarmView(self)  # signal.getsignal/signal as the test sees them
        self._exit_hook = False
        self._exitstatus = 0
        self._cache: dict[str, tuple[float, str, str | None]] = {}
        self._rearm: _Job | None = None  # a job paused for a fork, timed by an itimer
        self._resume: Any = None  # the profile function that restarts it (thread method)
        self._watchers: set[int] = set()  # native ids of watcher threads that may still run
        self._starting: deque[None] = deque()  # one entry per watcher not yet in _watchers
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=self._before_fork, after_in_parent=self._after_fork_in_parent
            )

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
            previous = native_getsignal(signal.SIGALRM)
            if previous is None:  # a handler set from C: leave it alone
                job.method, job.why = "thread", "SIGALRM has a handler snarl cannot restore"
            else:
                job.previous = self._previous = previous
                native_signal(signal.SIGALRM, self._handler)
                self._view.install()
        job.deadline = time.monotonic() + timeout
        for tid in list(self._watchers):  # forget the watchers whose threads have ended
            if not os.path.exists(f"/proc/self/task/{tid}"):
                self._watchers.discard(tid)
        self._job = job
        self._start_watcher(job)  # a _thread thread: invisible to threading
        return job

    def _start_watcher(self, job: _Job) -> None:
        self._starting.append(None)  # (deque operations are atomic: no lock)
        start_new_thread(self._watch, (job,))  # a _thread thread: invisible to threading

    def _disarm(self, job: _Job) -> None:
        self._job = None  # first: from here on a late SIGALRM is only acknowledged
        self._cancel_resume()
        if self._rearm is job:
            self._rearm = None
            signal.setitimer(signal.ITIMER_REAL, 0)
        with job.mutex:
            was, job.state = job.state, _DONE
        job.cancel.release()
        if was in (_FIRING, _SIGNALLED):  # the watcher is writing or waiting: let it finish
            job.finished.acquire(timeout=2 * GRACE)
        # Restore the previous handler unless a SIGALRM is still pending (blocked by the test):
        # that one finds snarl's handler, which ignores it, rather than the default action.
        if job.method == "signal":
            self._view.remove()
        if (
            job.method == "signal"
            and (was != _SIGNALLED or job.responded)
            and native_getsignal(signal.SIGALRM) is self._handler
        ):
            native_signal(signal.SIGALRM, job.previous)

    def _on_alarm(self, signum: int, frame: types.FrameType | None) -> None:
        __tracebackhide__ = True
        job = self._signalled
        rearm = self._rearm
        if job is None and rearm is not None and time.monotonic() >= rearm.deadline - 0.05:
            self._rearm = None  # the itimer of a phase that forked: its watcher takes over
            rearm.paused = False
            self._start_watcher(rearm)
            return
        if job is None:  # not snarl's: the program's own alarm goes where it went before
            previous = self._previous
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:  # the default action: the process ends
                native_signal(signal.SIGALRM, signal.SIG_DFL)
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
            if os.path.isdir("/proc/self/task"):
                self._watchers.add(threading.get_native_id())
            self._starting.pop()
            if job.cancel.acquire(timeout=max(0.0, job.deadline - time.monotonic())):
                return
            if self._debugging(job):
                return
            with job.mutex:
                if job.state != _ARMED:
                    return
                job.state = _FIRING
            if job.method == "thread":
                self._end_run(job, f"{job.why}, so the test cannot be interrupted", dumped=False)
            elif native_getsignal(signal.SIGALRM) is not self._handler:
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
