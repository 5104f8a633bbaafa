"""Frames of pytest's own machinery, cut from the dumps and reports of snarl's pytest plugin
(timeouts and lock-order reports), and the recognition of debuggers."""

from __future__ import annotations

import os
import traceback
import types
from typing import Any

import pytest

from .pytest_plugin import _DEBUGGERS


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
