"""Headless Chromium for the timeline page: dump its DOM after its script ran, screenshot it.

Also a script that remakes the README's screenshots (``docs/img/timeline-*.png``)::

    python -m tests.timeline.browser docs/img

Chromium comes from the Debian package (``apt-get install -y chromium``); ``SNARL_CHROMIUM``
names another binary.  The browser runs with no network use of its own (no component
updates, no sync, no QUIC), in a throw-away profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
TIMEOUT = 120.0


def chromium() -> str | None:
    """The Chromium binary to use, or None if there is none."""
    named = os.environ.get("SNARL_CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(page: Path, *extra: str) -> str:
    binary = chromium()
    if binary is None:
        raise RuntimeError("no chromium binary (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="snarl-chromium-") as profile:
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def dump_dom(page: Path, *, budget_ms: int | None = None) -> str:
    """The page's DOM as serialised after its scripts ran (``--dump-dom``); ``budget_ms``
    lets that much virtual time pass first (animation frames, timers)."""
    extra = [f"--virtual-time-budget={budget_ms}"] if budget_ms is not None else []
    return _run(page, *extra, "--dump-dom")


def screenshot(page: Path, out: Path, width: int, height: int) -> Path:
    """A PNG of the page at ``width`` x ``height`` CSS pixels."""
    _run(page, f"--window-size={width},{height}", f"--screenshot={out.resolve()}")
    if not out.is_file():
        raise RuntimeError(f"chromium wrote no screenshot to {out}")
    return out


class Drawn(HTMLParser):
    """What the drawn page holds, per timeline section: lanes, slices, arrows."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str] = {}
        self.sections: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "body":
            self.body = a
        elif tag == "section" and "timeline" in classes:
            self.sections.append({"attrs": a, "lanes": [], "slices": [], "flows": 0})
        elif not self.sections:
            return
        elif tag == "g" and "lane" in classes:
            self.sections[-1]["lanes"].append(a.get("data-thread"))
        elif tag == "rect" and "slice" in classes:
            self.sections[-1]["slices"].append((a.get("data-kind"), a.get("data-flag", "")))
        elif tag == "path" and "flow" in classes:
            self.sections[-1]["flows"] += 1


def drawn(dom: str) -> Drawn:
    """Parse a dumped DOM."""
    parser = Drawn()
    parser.feed(dom)
    return parser


def make_screenshots(folder: Path) -> list[Path]:
    """The README's two screenshots: the check-interval demonstrations, and a deadlock the
    explorer found (``tests/exploration/programs/bugs.py::abba``)."""
    from snarl.timeline import demo_timelines, save

    from ..exploration.programs.bugs import abba
    from .programs import deadlock_timeline

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    with tempfile.TemporaryDirectory(prefix="snarl-shots-") as tmp:
        demo = Path(tmp) / "checkinterval.html"
        demo_timelines(demo)
        made.append(screenshot(demo, folder / "timeline-checkinterval.png", 1400, 960))
        page = Path(tmp) / "deadlock.html"
        tl = deadlock_timeline(abba, title="snarl explore tests/exploration/programs/bugs.py::abba")
        save(page, [tl])
        made.append(screenshot(page, folder / "timeline-deadlock.png", 1100, 300))
    return made


if __name__ == "__main__":
    for path in make_screenshots(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")):
        print(path)
