"""Text dumps escape control characters (issue 13); JSON stays exact; printable Unicode stays."""

from __future__ import annotations

import io
import json
import threading

import snarl
from snarl.terminal import escape

from ..helpers import JOIN_TIMEOUT, blocked

EVIL = "evil\x1b[2J\x1b]0;owned\x07\nforged line\u202e"


def test_escape_keeps_printable_unicode() -> None:
    assert escape("héllo 世界 ✓") == "héllo 世界 ✓"
    assert escape("a\x1bb\nc\u202e") == "a\\x1bb\\x0ac\\u202e"


def test_text_dump_escapes_thread_names_and_json_stays_exact() -> None:
    release = threading.Event()
    t = threading.Thread(target=release.wait, name=EVIL)
    t.start()
    try:
        blocked(t)
        text = io.StringIO()
        snarl.dump(file=text)
        out = io.StringIO()
        snarl.dump(file=out, format="json")
    finally:
        release.set()
        t.join(JOIN_TIMEOUT)
    dumped = text.getvalue()
    assert "\x1b" not in dumped and "\x07" not in dumped and "\u202e" not in dumped
    assert "evil\\x1b[2J" in dumped
    assert not any(line.startswith("forged line") for line in dumped.splitlines())
    names = [th["name"] for th in json.loads(out.getvalue())["threads"]]
    assert EVIL in names
