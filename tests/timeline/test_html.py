"""The HTML page: self-contained, and drawn by a real headless browser."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from snarl.timeline import html_page, save
from snarl.timeline.html import timeline_data

from .browser import chromium, drawn, dump_dom, screenshot
from .programs import deadlock_timeline, handoff_recording

needs_chromium = pytest.mark.skipif(
    chromium() is None,
    reason="no chromium binary: apt-get install -y chromium (or set SNARL_CHROMIUM)",
)


@pytest.fixture(scope="module")
def timelines():
    return [handoff_recording().timeline("a lock handoff"), deadlock_timeline(title="abba")]


def payload(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="snarl-data">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_the_page_needs_nothing_from_outside(timelines):
    page = html_page(timelines)
    assert "<link" not in page and "@import" not in page
    assert not re.search(r"\bsrc\s*=", page)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls == {"http://www.w3.org/2000/svg"}  # the SVG namespace: a name, not a fetch
    refs = re.findall(r"url\(\s*([^)]*)\)", page)
    assert refs and all(ref.startswith("#") for ref in refs)  # fragments of the page itself


def test_the_data_is_the_timelines(timelines):
    data = payload(html_page(timelines))
    assert [t["title"] for t in data["timelines"]] == ["a lock handoff", "abba"]
    for tl, d in zip(timelines, data["timelines"], strict=True):
        assert d == timeline_data(tl)
        assert [lane["name"] for lane in d["lanes"]] == [lane.name for lane in tl.lanes]
        assert len(d["slices"]) == len(tl.slices) and len(d["flows"]) == len(tl.flows)
        assert all(0 <= s["s"] <= s["e"] <= d["end"] for s in d["slices"])


def test_a_title_cannot_end_the_script(timelines):
    tl = timelines[1]
    evil = type(tl)(**{**tl.__dict__, "title": "</script><script>alert(1)</script>"})
    page = html_page([evil], title="x")
    assert page.count("</script>") == 2  # the data's and the drawing script's own
    assert payload(page)["timelines"][0]["title"] == evil.title


@needs_chromium
def test_the_browser_draws_a_lane_per_thread_and_every_slice(tmp_path, timelines):
    page = save(tmp_path / "page.html", timelines, title="two timelines")
    seen = drawn(dump_dom(page))
    assert seen.body.get("data-ready") == "1", "the page's script did not finish"
    assert len(seen.sections) == 2
    for tl, section in zip(timelines, seen.sections, strict=True):
        assert section["lanes"] == [lane.name for lane in tl.lanes]
        assert Counter(section["slices"]) == Counter((s.kind, s.flag) for s in tl.slices)
        assert section["attrs"]["data-slices"] == str(len(tl.slices))
        assert section["attrs"]["data-lanes"] == str(len(tl.lanes))
        assert section["flows"] == len(tl.flows)
    handoff, abba = seen.sections
    assert ("lock", "") in handoff["slices"] and handoff["flows"] >= 1
    assert handoff["lanes"][0] == "MainThread"
    assert Counter(flag for _, flag in abba["slices"])["deadlock"] == 2


PROBE = """<script>
window.addEventListener("load", function () {
  // The widest lock slice: the waiter's (on a free-threaded build Thread.start's handshake
  // may add a brief one before it).
  var all = function () { return document.querySelectorAll("rect.slice[data-kind=lock]"); };
  var rs = all(), pick = 0;
  for (var i = 1; i < rs.length; i++) {
    if (+rs[i].getAttribute("width") > +rs[pick].getAttribute("width")) { pick = i; }
  }
  var r = rs[pick];
  var box = r.getBoundingClientRect();
  r.dispatchEvent(new MouseEvent("mousemove", {
    bubbles: true, clientX: box.x + box.width / 2, clientY: box.y + box.height / 2}));
  var tip = document.getElementById("tip");
  document.body.setAttribute("data-tip", tip.hidden ? "" : tip.textContent);
  var before = r.getAttribute("width");
  document.querySelector("button[data-zoom=in]").click();
  var tries = 0;
  (function look() {  // the page redraws on its next animation frame (maybe new elements)
    var now = all()[pick].getAttribute("width");
    if (now !== before || ++tries > 500) {
      document.body.setAttribute("data-zoomed", before + " " + now);
    } else {
      setTimeout(look, 10);
    }
  })();
});
</script>
</body>"""


@needs_chromium
def test_hovering_shows_the_details_and_zooming_in_widens_the_slices(tmp_path, timelines):
    page = tmp_path / "probe.html"
    page.write_text(html_page(timelines[:1]).replace("</body>", PROBE), encoding="utf-8")
    # The browser's virtual-time budget can run out before the redraw on a loaded machine:
    # the page is loaded afresh (up to three times) until the probe saw the zoom applied.
    for _ in range(3):
        body = drawn(dump_dom(page, budget_ms=10_000)).body
        zoomed = body.get("data-zoomed", "").split()
        if len(zoomed) == 2 and zoomed[0] != zoomed[1]:
            break
    tip = body.get("data-tip", "").splitlines()
    assert tip[:2] == ["Lock `lock`", "waiter: waiting for a Lock"], tip
    assert "released by: holder" in tip and "outcome: acquired" in tip
    before, after = (float(w) for w in body["data-zoomed"].split())
    assert after == pytest.approx(2 * before, rel=0.01)  # "+" halves the time shown


@needs_chromium
def test_a_screenshot_of_the_page(tmp_path, timelines):
    page = save(tmp_path / "abba.html", timelines[1:])
    shot = screenshot(page, tmp_path / "abba.png", 1000, 300)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1000, 300)
