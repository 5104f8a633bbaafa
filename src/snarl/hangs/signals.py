"""Dump on signal: ``kill -USR1 <pid>`` writes the full snarl dump; ``kill -USR2`` faulthandler's.

:func:`install_signal_dump` sets a Python handler on ``signum`` (default ``SIGUSR1``) that
writes the full dump, with held locks, tracked owners and deadlock cycles, to standard error
(straight to file descriptor 2) or to a file, and registers ``faulthandler`` on ``fallback``
(default ``SIGUSR2``) for when Python code cannot run.  :func:`uninstall_signal_dump`
restores the handlers found before.

When the handler runs
---------------------
CPython runs a Python signal handler in the **main thread, between bytecodes**.  If the main
thread is running Python, that is at once.  If it is blocked in a lock acquire (``Lock``,
``RLock``, ``Thread.join``, ``Condition.wait``, ``Event.wait``, a ``Queue.get``...), in
``time.sleep``, ``select`` or a read, the system call is interrupted on Linux and the handler
runs, and then the wait resumes: the dump shows the main thread at the very line where it
waits.  If the main thread is inside a C call that does not return to the interpreter (a
long computation in an extension, a blocking call in a library that retries on ``EINTR``
without checking for signals, or a C call that holds the GIL), the handler runs only when
that call returns: send the ``fallback`` signal instead.  faulthandler answers it in the C
signal handler itself, without the GIL: raw tracebacks of at most 100 threads
(``Thread 0x… (most recent call first):`` and ``File "…", line N in func``), no names, no
locks, no waits.

The dump is taken in a short-lived helper thread (started with ``_thread``, so no lock of
``threading`` is needed) while the main thread waits for it: the main thread is then read like
any other, so a main thread waiting for a lock shows that wait, and a cycle through it is found.
The helper is left out of the dump.

A ``file`` given as an open stream is written from the handler, inside the main thread: if
the main thread was interrupted while writing to that same stream, the write fails
(reentrant call); give a path instead (opened, appended to and closed at each signal).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import threading
from _thread import allocate_lock, get_ident, start_new_thread
from dataclasses import replace
from typing import IO, Any

from ..threaddump.api import format_dump
from ..threaddump.collect import snapshot
from ..threaddump.render import FORMATS
from .report import write_stderr

__all__ = ["SignalDump", "install_signal_dump", "installed_signal_dump", "uninstall_signal_dump"]

_HELPER_TIMEOUT = 30.0  # the main thread waits this long for the helper thread's dump
_installed: SignalDump | None = None

FileTarget = None | str | os.PathLike | IO[str]


class SignalDump:
    """An installed dump-on-signal: what :func:`install_signal_dump` returns.

    ``signum`` writes snarl's dump; ``fallback`` (or None) writes faulthandler's.  ``dumps``
    counts the dumps written.  :meth:`uninstall` (or :func:`uninstall_signal_dump`) restores
    the earlier handlers; it is also a context manager.
    """

    def __init__(self, signum: int, fallback: int | None, file: FileTarget, format: str) -> None:
        self.signum = signum
        self.fallback = fallback
        self.file = file
        self.format = format
        self.dumps = 0
        self._previous: Any = signal.SIG_DFL
        self._fallback_file: Any = None

    def _install(self) -> None:
        target: Any = 2  # faulthandler's output: standard error's descriptor by default
        if isinstance(self.file, str | os.PathLike):
            # Opened now, so a bad path fails at install time; kept open for faulthandler.
            self._fallback_file = open(self.file, "a", encoding="utf-8")  # noqa: SIM115
            target = self._fallback_file
        elif self.file is not None and _has_fileno(self.file):
            target = self.file
        if self.fallback is None:
            self._close()
        try:
            previous = signal.signal(self.signum, self._handler)
        except (OSError, RuntimeError, ValueError) as exc:
            self._close()
            raise ValueError(f"snarl: cannot handle signal {self.signum}: {exc}") from None
        self._previous = previous if previous is not None else signal.SIG_DFL
        if self.fallback is not None:
            try:
                faulthandler.register(self.fallback, file=target, all_threads=True, chain=False)
            except (OSError, RuntimeError, ValueError) as exc:
                signal.signal(self.signum, self._previous)
                self._close()
                raise ValueError(
                    f"snarl: cannot register faulthandler on signal {self.fallback}: {exc}"
                ) from None

    def uninstall(self) -> None:
        """Restore the handlers found at install time (idempotent)."""
        global _installed
        if _installed is not self:
            return
        _installed = None
        signal.signal(self.signum, self._previous)
        if self.fallback is not None:
            faulthandler.unregister(self.fallback)
        self._close()

    def _close(self) -> None:
        if self._fallback_file is not None:
            with contextlib.suppress(Exception):
                self._fallback_file.close()
            self._fallback_file = None

    def __enter__(self) -> SignalDump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        fallback = signal.Signals(self.fallback).name if self.fallback is not None else None
        return (
            f"<snarl.SignalDump {signal.Signals(self.signum).name} fallback={fallback}"
            f" dumps={self.dumps}>"
        )

    # -- the handler ----------------------------------------------------------------------
    def _handler(self, signum: int, frame: Any) -> None:
        self._write(_dump_from_helper(self.format))
        self.dumps += 1  # after the write: a test (or a tool) may wait for this count

    def _write(self, text: str) -> None:
        target = self.file
        try:
            if target is None:
                write_stderr(text)
            elif isinstance(target, str | os.PathLike):
                with open(target, "a", encoding="utf-8") as f:
                    f.write(text)
            else:
                target.write(text)
                target.flush()
        except Exception as exc:
            write_stderr(f"snarl: the dump on signal could not be written: {exc}\n")


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except Exception:
        return False
    return True


def _dump_from_helper(format: str) -> str:
    """Take and render the dump in a helper thread, so the main thread is read as waiting."""
    done = allocate_lock()
    done.acquire()
    result: list[str] = []

    def helper() -> None:
        try:
            result.append(_render(format, get_ident()))
        except BaseException as exc:
            result.append(f"snarl: the dump on signal failed: {type(exc).__name__}: {exc}\n")
        finally:
            done.release()

    try:
        start_new_thread(helper, ())
    except RuntimeError:  # no thread can be started: dump from the main thread itself
        return _render(format, None)
    if not done.acquire(timeout=_HELPER_TIMEOUT):
        return f"snarl: the dump on signal did not finish in {_HELPER_TIMEOUT:g} s\n"
    return result[0]


def _render(format: str, hide: int | None) -> str:
    snap = snapshot()
    if hide is not None:
        snap = replace(snap, threads=tuple(t for t in snap.threads if t.ident != hide))
    return format_dump(snap, format)


def install_signal_dump(
    signum: int = signal.SIGUSR1,
    *,
    file: FileTarget = None,
    fallback: int | None = signal.SIGUSR2,
    format: str = "text",
) -> SignalDump:
    """Write the full snarl dump on ``signum``; register faulthandler on ``fallback``.

    ``file`` is None (standard error, written to its file descriptor), a path (appended to at
    each signal) or an open text stream; faulthandler's fallback output goes to the same file
    (or to standard error).  ``format`` is ``"text"`` or ``"json"``.  ``fallback=None``
    registers nothing on a second signal.  A second call replaces the first installation.
    Must be called from the main thread (where Python signal handlers live): ValueError
    otherwise, and for a signal that cannot be caught or a fallback equal to ``signum``;
    OSError for a path that cannot be opened (it is opened at once, and nothing is changed).
    """
    global _installed
    if format not in FORMATS:
        raise ValueError(f"unknown dump format {format!r}: choose one of {', '.join(FORMATS)}")
    if threading.current_thread() is not threading.main_thread():
        raise ValueError(
            "snarl: install_signal_dump() must be called from the main thread"
            " (Python runs signal handlers there, and only it may set them)"
        )
    signum = _signal_number("signum", signum)
    if fallback is not None:
        fallback = _signal_number("fallback", fallback)
        if fallback == signum:
            raise ValueError(
                f"snarl: fallback must be another signal than {signal.Signals(signum).name}"
            )
    if _installed is not None:
        _installed.uninstall()
    handle = SignalDump(signum, fallback, file, format)
    handle._install()  # OSError for a file that cannot be opened; ValueError for a signal
    _installed = handle
    return handle


def uninstall_signal_dump() -> None:
    """Remove the dump on signal, restoring the earlier handlers (does nothing if none)."""
    if _installed is not None:
        _installed.uninstall()


def installed_signal_dump() -> SignalDump | None:
    """The dump on signal in force, or None."""
    return _installed


def _signal_number(what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"snarl: {what} must be a signal number, not {value!r}")
    try:
        signal.Signals(value)
    except ValueError:
        raise ValueError(f"snarl: {what} {value!r} is not a signal of this platform") from None
    if value in (getattr(signal, "SIGKILL", None), getattr(signal, "SIGSTOP", None)):
        raise ValueError(f"snarl: {signal.Signals(value).name} cannot be caught")
    return int(value)
