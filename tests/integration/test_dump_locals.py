"""``locals=True``: hostile ``__repr__`` methods cannot break or bloat a dump."""

from __future__ import annotations

import io
import json
import threading

import snarl

from ..helpers import blocked

MB = 1 << 20
REPR_LIMIT = 200  # documented: each repr is bounded to 200 characters


class RaisingRepr:
    def __repr__(self) -> str:
        raise ValueError("no repr for you")


class RecursiveRepr:
    def __repr__(self) -> str:
        return f"<{self!r}>"


class HugeRepr:
    def __repr__(self) -> str:
        return "h" * MB


class NotAStringRepr:
    def __repr__(self):
        return 42


def hostile_locals(ready: threading.Event, stop: threading.Event) -> None:
    raising = RaisingRepr()
    recursive = RecursiveRepr()
    huge = HugeRepr()
    not_a_string = NotAStringRepr()
    big_text = "t" * MB
    big_list = list(range(MB // 8))
    nested = [[[[[["deep"]]]]]]
    ready.set()
    stop.wait()
    del raising, recursive, huge, not_a_string, big_text, big_list, nested


def frame_locals(snap: snarl.Snapshot) -> dict[str, str]:
    info = snap.thread("hostile")
    [frame] = [f for f in info.frames if f.function == "hostile_locals"]
    assert frame.locals is not None
    return dict(frame.locals)


def test_hostile_reprs_in_text_dump(threads):
    ready = threading.Event()
    t = threads.start(hostile_locals, ready, threads.stop, name="hostile")
    assert ready.wait(10)
    blocked(t)
    out = io.StringIO()
    snap = snarl.dump(out, locals=True)
    text = out.getvalue()

    values = frame_locals(snap)
    assert set(values) >= {"raising", "recursive", "huge", "big_text", "big_list", "nested"}
    assert all(len(v) <= REPR_LIMIT for v in values.values())
    assert "repr failed" in values["raising"] and "ValueError" in values["raising"]
    assert "repr failed" in values["recursive"] and "RecursionError" in values["recursive"]
    assert "repr failed" in values["not_a_string"] and "TypeError" in values["not_a_string"]
    assert values["huge"].startswith("hhh") and "..." in values["huge"]
    assert values["big_text"].startswith("'ttt") and "..." in values["big_text"]
    assert values["big_list"].startswith("[0, 1, 2") and "..." in values["big_list"]
    assert "deep" not in values["nested"]  # nesting is cut too

    for name, value in values.items():
        assert f"        {name} = {value}" in text.splitlines()
    assert len(text) < MB // 2  # not one of the megabyte reprs made it through
    assert max(len(row) for row in text.splitlines()) < 2 * REPR_LIMIT + 100


def test_hostile_reprs_in_json_dump(threads):
    ready = threading.Event()
    t = threads.start(hostile_locals, ready, threads.stop, name="hostile")
    assert ready.wait(10)
    blocked(t)
    out = io.StringIO()
    snarl.dump(out, format="json", locals=True)
    data = json.loads(out.getvalue())
    [thread] = [x for x in data["threads"] if x["name"] == "hostile"]
    [frame] = [f for f in thread["frames"] if f["function"] == "hostile_locals"]
    assert "ValueError" in frame["locals"]["raising"]
    assert "RecursionError" in frame["locals"]["recursive"]
    assert all(len(v) <= REPR_LIMIT for v in frame["locals"].values())
    assert len(out.getvalue()) < MB // 2


def test_locals_are_opt_in(threads):
    ready = threading.Event()
    t = threads.start(hostile_locals, ready, threads.stop, name="hostile")
    assert ready.wait(10)
    blocked(t)
    out = io.StringIO()
    snap = snarl.dump(out)
    assert all(f.locals is None for th in snap.threads for f in th.frames)
    assert " raising = " not in out.getvalue()
    data = json.loads(snarl.format_dump(snap, "json"))
    assert all("locals" not in f for th in data["threads"] for f in th["frames"])


# ---- issue 13: reprs bounded before they are built, and abandoned when they do not return ----

BIG_LOCAL = """
import json, resource, sys, threading
import snarl
release = threading.Event()
started = threading.Event()
def holder():
    payload = bytes(300 * (1 << 20))  # 300 MB
    text = "s" * (50 * (1 << 20))
    started.set()
    release.wait()
t = threading.Thread(target=holder)
t.start()
started.wait()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
snap = snarl.snapshot(locals=True)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
release.set()
t.join()
frame = next(f for f in snap.thread(t.name).frames if f.function == "holder")
print(json.dumps({"grew_kb": after - before, "locals": dict(frame.locals)}))
"""


def test_huge_builtin_local_is_sliced_before_repr() -> None:
    """A 300 MB bytes local cost +1.2 GB when its full repr was built first."""
    from ..helpers import run_python

    proc = run_python("-c", BIG_LOCAL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["grew_kb"] < 50 * 1024, result["grew_kb"]  # was ~1.2 GB
    assert result["locals"]["payload"].startswith("b'\\x00")
    assert len(result["locals"]["payload"]) <= REPR_LIMIT
    assert len(result["locals"]["text"]) <= REPR_LIMIT


class BlockingRepr:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __repr__(self) -> str:
        self.entered.set()
        self.release.wait()
        return "released"


def test_blocking_repr_is_abandoned_and_later_dumps_do_not_wait() -> None:
    stuck = BlockingRepr()
    done = threading.Event()

    def holder(obj=stuck) -> None:
        done.wait()

    t = threading.Thread(target=holder, name="holds-blocking")
    t.start()
    try:
        blocked(t)
        for _ in range(2):  # the second dump must not queue behind the first's stuck repr
            out = io.StringIO()
            snap = snarl.dump(file=out, locals=True)
            frames = snap.thread("holds-blocking").frames
            frame = next(f for f in frames if f.function.endswith("holder"))
            shown = dict(frame.locals)["obj"]
            assert "did not return" in shown or "not run" in shown, shown
            assert stuck.entered.is_set()
    finally:
        stuck.release.set()
        done.set()
        t.join()
