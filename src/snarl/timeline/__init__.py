"""Thread timelines: who ran when, who waited on what, for how long, and who let it go.

* :func:`record` → :class:`Recording`: record a real run (waits on tracked objects with their
  releasers, thread starts and ends, optionally the check interval's GIL offers) into a ring
  buffer; ``save("out.json")`` writes a Chrome trace (Perfetto, chrome://tracing),
  ``save("out.html")`` a self-contained page that draws it as SVG.
* :func:`timeline_from_steps` / :func:`timeline_from_failure`: the same timeline for a
  controlled execution (the explorer's shrunk failing schedule, a replay), on a virtual clock.
* :func:`save`: write any timelines (several side by side in one page).
* :func:`demo_timelines`: the check-interval demonstrations, one timeline per setting.
"""

from .chrome import chrome_trace as chrome_trace
from .demo import demo_timelines as demo_timelines
from .export import save as save
from .html import html_page as html_page
from .model import Flow as Flow
from .model import Lane as Lane
from .model import Marker as Marker
from .model import Slice as Slice
from .model import Timeline as Timeline
from .recording import Recording as Recording
from .recording import record as record
from .steps import timeline_from_failure as timeline_from_failure
from .steps import timeline_from_steps as timeline_from_steps

__all__ = [
    "Flow",
    "Lane",
    "Marker",
    "Recording",
    "Slice",
    "Timeline",
    "chrome_trace",
    "demo_timelines",
    "html_page",
    "record",
    "save",
    "timeline_from_failure",
    "timeline_from_steps",
]
