"""The interleaving of a failing schedule as a table: one column per thread.

Each row is one stretch of a thread running between two switches: the source lines it ran
(the sites of its switch points, in user code), and, on the last line, why the switch
happened (``preempted``, ``blocked on Lock `b```, ``finished``...).  Rows read top to bottom in
the order things happened.  The table is built from the :class:`Step` records of a final,
recorded replay (:mod:`snarl.exploration.stretches` makes the rows).

Two things keep it readable whatever the failure:

* Exact repeats are folded: a block of rows that comes again and again (a spin, a livelock) is
  written once, followed by ``… the 2 rows above repeat 4,997 more times``; a loop inside one
  stretch likewise (``… the 2 lines above repeat ...``).  Only identical rows fold, so nothing
  is lost but the repetition.
* A wide failure shows only the threads involved: with more than :data:`MAX_COLUMNS` threads,
  those that only started and finished (or, when the caller says which threads the failure is
  about, those neither involved nor switching with an involved one) are left out, and one line
  says which and why.  If more than :data:`MAX_COLUMNS` remain, the table becomes a list, one
  line per stretch (``T12 worker-3: file.py:10  x = y  [preempted]``).  No line is longer than
  ``width``, except in the table of up to three threads, whose columns are :data:`WIDTH` wide.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from itertools import pairwise

from ..runtime.controlled import Step
from .stretches import Repeat, Row, fold, rows

__all__ = ["LINE_WIDTH", "MAX_COLUMNS", "WIDTH", "format_table"]

WIDTH = 44
"""A column's width in a table of up to three threads, all shown (as it always was: such a
table is 138 characters wide); narrower when the table must fit :data:`LINE_WIDTH`."""

LINE_WIDTH = 130
"""The longest line :func:`format_table` writes by default: the report indents the table by
two, so a report line stays within 132 characters."""

MAX_COLUMNS = 4
"""The most threads shown as columns; beyond, the uninvolved are left out, then a list."""

LABEL = 24
"""The longest ``T<id> <name>`` label of the list form."""


def format_table(
    steps: Sequence[Step],
    names: Sequence[str],
    *,
    involved: Collection[int] | None = None,
    width: int = LINE_WIDTH,
) -> Iterator[str]:
    """Yield the lines of the table for ``steps`` (``names``: thread names by id).

    ``involved``: the ids of the threads the failure is about (the thread that raised; for a
    deadlock, the blocked ones).  It matters only for a failure of more than
    :data:`MAX_COLUMNS` threads: then the table shows the involved threads and those whose
    stretches came right before or after theirs, unless they only started and finished.
    Without it, such a table shows every thread that did more than start and finish.
    ``width``: the longest line (the three-column table keeps its :data:`WIDTH` columns).
    """
    stretches = rows(steps)
    tids = sorted({s.tid for s in steps} | {r.tid for r in stretches})
    if not tids:
        return
    shown, hidden = _select(stretches, tids, involved)
    if hidden:
        yield _left_out(hidden, width)
    keep = set(shown)
    folded = fold([r for r in stretches if r.tid in keep], height=lambda r: len(r.cells()))
    if len(shown) > MAX_COLUMNS:
        yield from _listing(folded, shown, names, width)
        return
    n = len(shown)
    col = WIDTH if n <= 3 and not hidden else max(8, min(WIDTH, (width - 3 * (n - 1)) // n))
    yield from _table(folded, shown, names, col, width)


def _select(
    stretches: list[Row], tids: list[int], involved: Collection[int] | None
) -> tuple[list[int], dict[int, bool]]:
    """The threads to show, and those left out (True: it only started and finished)."""
    if len(tids) <= MAX_COLUMNS:
        return tids, {}
    trivial = set(tids).difference(r.tid for r in stretches if not r.trivial)
    keep: set[int] = set()
    if involved is not None:
        chosen = set(involved).intersection(tids)
        keep = set(chosen)
        for before, after in pairwise(stretches):
            if before.tid in chosen and after.tid not in trivial:
                keep.add(after.tid)
            if after.tid in chosen and before.tid not in trivial:
                keep.add(before.tid)
    if not keep:
        keep = set(tids) - trivial or set(tids)
    shown = [t for t in tids if t in keep]
    return shown, {t: t in trivial for t in tids if t not in keep}


def _left_out(hidden: dict[int, bool], width: int) -> str:
    """``(196 threads not shown: T2-T100, T102-T199; they only started and finished)``."""
    n = len(hidden)
    trivial = sum(hidden.values())
    if trivial == n:
        why = "they only started and finished" if n > 1 else "it only started and finished"
    elif trivial == 0:
        why = "not involved in the failure"
    else:
        why = f"{trivial} only started and finished, {n - trivial} not involved in the failure"
    head = f"({n} thread{'s' if n != 1 else ''} not shown: "
    tail = f"; {why})"
    ids = _ranges(sorted(hidden))
    return head + _cut(ids, max(8, width - len(head) - len(tail))) + tail


def _ranges(ids: list[int]) -> str:
    """``T2-T5, T7, T9-T10`` for ids 2, 3, 4, 5, 7, 9, 10 (ascending)."""
    spans: list[list[int]] = []
    for tid in ids:
        if spans and tid == spans[-1][1] + 1:
            spans[-1][1] = tid
        else:
            spans.append([tid, tid])
    return ", ".join(f"T{a}" if a == b else f"T{a}-T{b}" for a, b in spans)


def _table(
    folded: list[Row | Repeat], shown: list[int], names: Sequence[str], col: int, width: int
) -> Iterator[str]:
    """One column per shown thread, ``col`` characters wide."""
    pos = {tid: i for i, tid in enumerate(shown)}
    header = [_cut(f"T{tid} {names[tid]}", col) for tid in shown]
    yield " | ".join(h.ljust(col) for h in header).rstrip()
    yield "-+-".join("-" * col for _ in shown)
    for row in folded:
        if isinstance(row, Repeat):
            yield _cut(row.text("row"), max(width, len(shown) * (col + 3) - 3))
            continue
        for cell in row.cells():
            texts = [""] * len(shown)
            texts[pos[row.tid]] = _cell(cell, col)
            yield " | ".join(c.ljust(col) for c in texts).rstrip()


def _cell(cell: str | Repeat, col: int) -> str:
    if isinstance(cell, Repeat):
        text = cell.text("line")
        return text if len(text) <= col else _cut(cell.short("line"), col)
    return _cut(cell, col)


def _listing(
    folded: list[Row | Repeat], shown: list[int], names: Sequence[str], width: int
) -> Iterator[str]:
    """One line per stretch, ``T12 worker-3: file.py:10  x = y  [preempted]`` (a stretch of
    several source lines goes on below, indented)."""
    labels = {tid: _cut(f"T{tid} {names[tid]}", LABEL) + ":" for tid in shown}
    pad = max(map(len, labels.values())) + 1
    for row in folded:
        if isinstance(row, Repeat):
            yield _cut(row.text("row"), width)
            continue
        texts = [c.text("line") if isinstance(c, Repeat) else c for c in row.lines]
        tag = f"[{row.reason}]" if row.reason != "end" else "" if texts else "[end]"
        if tag and texts and not isinstance(row.lines[-1], Repeat):
            texts[-1] = _cut(texts[-1], max(8, width - pad - len(tag) - 2)) + "  " + tag
        elif tag:
            texts.append(tag)
        for i, text in enumerate(texts):
            yield _cut((labels[row.tid] if i == 0 else "").ljust(pad) + text, width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
