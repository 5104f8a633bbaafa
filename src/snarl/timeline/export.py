"""Writing timelines to a file: Chrome trace JSON or the HTML page, chosen by the suffix."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ..safefile import write_replace
from .chrome import chrome_trace
from .html import html_page
from .model import Timeline

__all__ = ["SUFFIXES", "save"]

SUFFIXES = {".json": "json", ".html": "html", ".htm": "html"}
"""What each file suffix :func:`save` accepts writes."""


def save(path: str | Path, timelines: Sequence[Timeline], *, title: str | None = None) -> Path:
    """Write ``timelines`` to ``path``: a Chrome trace for ``.json``, the self-contained HTML
    page for ``.html``/``.htm`` (several timelines side by side).  Returns the path.

    ``ValueError`` for another suffix (nothing is written).  The file is written through a
    new temporary file in the same directory renamed over ``path``
    (:func:`snarl.safefile.write_replace`): a symbolic link at ``path`` is replaced, never
    followed; ``OSError`` (one line) when it cannot be written.
    """
    path = Path(path)
    form = SUFFIXES.get(path.suffix.lower())
    if form is None:
        raise ValueError(
            f"snarl: cannot tell which timeline format to write to {str(path)!r}: "
            "give a .json (Chrome trace, for Perfetto) or .html path"
        )
    timelines = list(timelines)
    if title is None:
        title = timelines[0].title if len(timelines) == 1 else "snarl timelines"
    if form == "json":
        text = json.dumps(chrome_trace(timelines), separators=(",", ":"))
    else:
        text = html_page(timelines, title=title)
    write_replace(path, text)
    return path
