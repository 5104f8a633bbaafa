"""Every thread's current frame, read the one way snarl allows: :func:`current_frames`.

``sys._current_frames()`` is the interpreter's only view of other threads' stacks, and it has
known hazards (it walks the threads of every interpreter, subinterpreters included, and on a
free-threaded build it reads frames of threads that are running).  Every part of snarl asks
here instead of calling it directly, so that whatever route avoids those hazards is taken in
one place.  This module imports nothing from snarl.
"""

from __future__ import annotations

import sys
from types import FrameType

__all__ = ["current_frames"]


def current_frames() -> dict[int, FrameType]:
    """The top frame of each thread of this interpreter, by thread ident."""
    return sys._current_frames()
