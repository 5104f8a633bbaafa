"""Text that is safe to print on a terminal: control characters made visible.

Thread names, file names, source lines and anything read from another process may hold
terminal escape sequences (which can rewrite what the reader sees, or worse).  Text output
passes such values through :func:`escape` (one field: every control character escaped, line
breaks included, so a name cannot forge a line) or :func:`escape_text` (a block of lines: line
breaks and tabs kept).  This module imports nothing from snarl.
"""

from __future__ import annotations

import re

__all__ = ["escape", "escape_text"]

# C0 and C1 controls, DEL, and the Unicode line/paragraph separators and bidi overrides that
# change how a line reads.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(field: str) -> str:
    """``field`` with every control character (line breaks too) written as ``\\xNN``."""
    return _CONTROL.sub(_visible, field)


def escape_text(text: str) -> str:
    """``text`` with every control character but newline and tab written as ``\\xNN``."""
    return _CONTROL_KEEP_LINES.sub(_visible, text)
