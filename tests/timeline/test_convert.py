"""``snarl timeline IN.json -o OUT.html``: a saved Chrome-trace timeline made into the page
afterwards draws what the page saved at the time would have drawn."""

from __future__ import annotations

import json

from snarl.timeline import chrome_trace, html_page, save
from snarl.timeline.reading import timelines_from_trace
from tests.helpers import run_python

from .programs import deadlock_timeline, handoff_recording


def test_a_trace_read_back_is_the_same_trace():
    for tl in (deadlock_timeline(), handoff_recording().timeline()):
        trace = chrome_trace([tl])
        again = timelines_from_trace(json.loads(json.dumps(trace)))
        assert chrome_trace(again) == trace


def test_snarl_timeline_writes_the_page_the_run_would_have_written(tmp_path):
    tl = deadlock_timeline()
    trace = save(tmp_path / "run.json", [tl])
    page = tmp_path / "run.html"
    proc = run_python("-m", "snarl", "timeline", str(trace), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"snarl timeline: 1 timeline(s) written to {page}\n"
    assert _data(page.read_text(encoding="utf-8")) == _data(html_page([tl], title=tl.title))


def _data(page: str) -> object:
    """The page's embedded data, every number a float (a trace keeps no int/float difference)."""
    payload = page.split('<script type="application/json" id="snarl-data">', 1)[1]
    payload = payload.split("</script>", 1)[0].replace("<\\/", "</")
    return json.loads(payload, parse_int=float)


def test_what_is_not_a_snarl_timeline_is_a_usage_error(tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"traceEvents": []}), encoding="utf-8")
    for source in (other, tmp_path / "missing.json"):
        proc = run_python("-m", "snarl", "timeline", str(source), "-o", str(tmp_path / "o.html"))
        assert proc.returncode == 2
        [line] = proc.stderr.splitlines()
        assert line.startswith("snarl timeline: error: ") and str(source) in line
    assert not (tmp_path / "o.html").exists()
