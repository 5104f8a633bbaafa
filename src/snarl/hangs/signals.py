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

For standard error, the main thread waits only for the dump to be taken, not written: the
helper thread writes it too (a file is written by the handler).  Standard error is written
with a bounded wait (:data:`_WRITE_TIMEOUT`): a pipe that
nobody reads never stalls the program.  A dump that cannot be written in time is cut short,
and while one is being written a new signal's dump is dropped; the next dump written says
how many were.  A path is opened (never through a symbolic link, see
:mod:`snarl.safefile`), appended to and closed at each signal.  A ``file`` given as an open
stream is written from the handler, inside the main thread: if the main thread was
interrupted while writing to that same stream, the write fails (reentrant call); give a path.

The program's own handlers
--------------------------
A Python handler the program had on ``signum`` is kept and chained: the dump is written,
then that handler is called; one line on standard error says so at install.  A handler it
had on ``fallback`` is chained by faulthandler (``chain=True``), and said likewise.  A
handler the program sets later replaces snarl's: :meth:`SignalDump.check_replaced` (the
watchdog calls it at each check) says so once, in one line.  During the interpreter's
finalization the handler does nothing.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import select
import signal
import stat
import sys
import threading
import time
from _thread import allocate_lock, get_ident, start_new_thread
from dataclasses import replace
from typing import IO, Any

from ..safefile import open_append
from ..threaddump.api import format_dump
from ..threaddump.collect import snapshot
from ..threaddump.render import FORMATS
from .report import write_stderr

__all__ = ["SignalDump", "install_signal_dump", "installed_signal_dump", "uninstall_signal_dump"]

_HELPER_TIMEOUT = 30.0  # the main thread waits this long for the helper thread's dump
_WRITE_TIMEOUT = 10.0  # a dump to standard error waits at most this long for the pipe
_installed: SignalDump | None = None
_writing = allocate_lock()  # held while a dump is being written to standard error
_dropped = [0]  # dumps dropped (or cut short) since the last one written

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
        self._chained: Any = None  # the program's own handler on signum, called after the dump
        self._replaced_told = False
        self._fallback_file: Any = None

    def _install(self) -> None:
        target: Any = 2  # faulthandler's output: standard error's descriptor by default
        if isinstance(self.file, str | os.PathLike):
            # Opened now, so a bad path fails at install time; kept open for faulthandler.
            self._fallback_file = open_append(self.file)  # never through a symbolic link
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
        if _is_handler(previous):
            self._chained = previous
            _tell(
                f"{_name(self.signum)} had a handler of the program's ({_describe(previous)})",
                "snarl's dump runs first, then it",
            )
        if self.fallback is not None:
            chain = _is_handler(signal.getsignal(self.fallback))
            if chain:
                _tell(
                    f"{_name(self.fallback)} had a handler of the program's",
                    "faulthandler's dump runs first, then it",
                )
            try:
                faulthandler.register(self.fallback, file=target, all_threads=True, chain=chain)
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

    def check_replaced(self) -> bool:
        """Whether the program has since set its own handler on ``signum`` (said once, in one
        line on standard error: the signal then runs the program's handler, not the dump)."""
        try:
            current = signal.getsignal(self.signum)
        except Exception:
            return False
        replaced = _installed is self and current != self._handler
        if replaced and not self._replaced_told:
            self._replaced_told = True
            _tell(
                f"the program set its own {_name(self.signum)} handler",
                f"kill -{_name(self.signum)[3:]} now runs it, not snarl's dump",
            )
        return replaced

    # -- the handler ----------------------------------------------------------------------
    def _handler(self, signum: int, frame: Any) -> None:
        if sys.is_finalizing():
            return
        # Standard error is written by the helper (a pipe may be full); a file or a stream
        # here, in the main thread, before the handler returns (a regular file never blocks).
        to_stderr = self.file is None
        text = _dump_from_helper(self.format, self._write_and_count if to_stderr else None)
        if text is not None:
            self._write(text)
            self.dumps += 1
        if self._chained is not None:
            self._chained(signum, frame)

    def _write_and_count(self, text: str) -> None:
        self._write(text)
        self.dumps += 1  # after the write: a test (or a tool) may wait for this count

    def _write(self, text: str) -> None:
        target = self.file
        try:
            if target is None:
                _write_stderr_bounded(text)
            elif isinstance(target, str | os.PathLike):
                with open_append(target) as f:
                    f.write(text)
            else:
                target.write(text)
                target.flush()
        except Exception as exc:
            write_stderr(f"snarl: the dump on signal could not be written: {exc}\n")


def _is_handler(handler: Any) -> bool:
    """A handler of the program's: a callable other than Python's default SIGINT handler."""
    return callable(handler) and handler is not signal.default_int_handler


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _describe(handler: Any) -> str:
    name = getattr(handler, "__qualname__", None) or type(handler).__name__
    module = getattr(handler, "__module__", None)
    return f"{module}.{name}" if module else str(name)


def _tell(what: str, consequence: str) -> None:
    write_stderr(f"snarl: {what}: {consequence}\n")


def _write_stderr_bounded(text: str) -> None:
    """Write to file descriptor 2 without waiting more than :data:`_WRITE_TIMEOUT` for it.

    One writer at a time: a dump that finds another one still being written is dropped.
    A pipe is written in pieces no larger than the pipe's atomic size, each only once poll
    says it has room, so the write itself does not block; what is not written by the deadline
    is dropped.  Dropped dumps are counted, and the next dump written starts with the count.
    """
    if not _writing.acquire(False):
        _dropped[0] += 1
        return
    try:
        if _dropped[0]:
            note = f"snarl: {_dropped[0]} dump(s) on signal dropped or cut short: stderr was full"
            text = f"{note}\n{text}"
            _dropped[0] = 0
        data = text.encode("utf-8", "backslashreplace")
        try:
            is_pipe = stat.S_ISFIFO(os.fstat(2).st_mode) or stat.S_ISSOCK(os.fstat(2).st_mode)
        except OSError:
            return
        if not is_pipe:
            write_stderr(text)
            return
        deadline = time.monotonic() + _WRITE_TIMEOUT
        poller = select.poll()
        poller.register(2, select.POLLOUT)
        while data:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(int(left * 1000) + 1):
                if time.monotonic() >= deadline:
                    _dropped[0] += 1
                    return
                continue
            try:
                data = data[os.write(2, data[: select.PIPE_BUF]) :]
            except BlockingIOError:
                continue
            except OSError:
                return
    finally:
        _writing.release()


def _has_fileno(stream: Any) -> bool:
    try:
        stream.fileno()
    except Exception:
        return False
    return True


def _dump_from_helper(format: str, write: Any = None) -> str | None:
    """Take and render the dump in a helper thread, so the main thread is read as waiting.

    With ``write``, the helper then calls ``write(text)`` itself, after the main thread is
    released (None is returned); else the text is returned for the caller to write.
    """
    done = allocate_lock()
    done.acquire()
    result: list[str] = []

    def helper() -> None:
        try:
            try:
                result.append(_render(format, get_ident()))
            except BaseException as exc:
                result.append(f"snarl: the dump on signal failed: {type(exc).__name__}: {exc}\n")
            finally:
                done.release()
            if write is not None:
                write(result[0])
        except BaseException:  # a helper thread never prints a traceback
            pass

    try:
        start_new_thread(helper, ())
    except RuntimeError:  # no thread can be started: dump from the main thread itself
        text = _render(format, None)
        if write is None:
            return text
        write(text)
        return None
    if not done.acquire(timeout=_HELPER_TIMEOUT):
        text = f"snarl: the dump on signal did not finish in {_HELPER_TIMEOUT:g} s\n"
        if write is None:
            return text
        _write_stderr_bounded(text)
        return None
    return None if write is not None else result[0]


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
