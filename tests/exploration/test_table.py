"""The interleaving table: exact folding of repeats, and wide failures kept readable.

Most tests build the :class:`Step` records of a replay by hand (cheap and exact: every count
is known); two go through :func:`snarl.explore` end to end.
"""

from __future__ import annotations

import random
import re
import threading
import time

import snarl
from snarl.exploration.table import format_table
from snarl.runtime.controlled import Step

REPORT_WIDTH = 132  # the report indents the table by two


def at(line: int, source: str = "x = 1") -> tuple[str, int, str, str]:
    """A site in a made-up ``prog.py``."""
    return ("prog.py", line, "f", source)


def table(steps: list[Step], names: list[str], **options) -> list[str]:
    return list(format_table(steps, names, **options))


def columns(*cells: str) -> str:
    """A table line as it has always been written, for up to three threads (44-character cells)."""
    return " | ".join(cell.ljust(44) for cell in cells).rstrip()


RULE = "-+-".join("-" * 44 for _ in range(3))


def starts(children: range, *, line: int = 3, then: int) -> list[Step]:
    """Thread 0 starts ``children``, then blocks joining the first; ``then`` runs next."""
    steps = [Step(0, "start", f'thread "w{t}"', at(line, "t.start()"), 0, True) for t in children]
    first = f'thread "w{children[0]}"'
    return [
        *steps,
        Step(0, "join", first, at(line + 1, "t.join()"), 0, True),
        Step(0, "block", first, at(line + 1, "t.join()"), then, False),
    ]


# -- tables that do not repeat are written as before -----------------------------------------
ABBA = [
    Step(0, "start", 'thread "one"', at(23, "t1.start()"), 0, True),
    Step(0, "start", 'thread "two"', at(24, "t2.start()"), 0, True),
    Step(0, "join", 'thread "one"', at(25, "t1.join()"), 0, True),
    Step(0, "block", 'thread "one"', at(25, "t1.join()"), 2, False),
    Step(2, "acquire", "SimLock", at(18, "with lock_b, lock_a:"), 2, True),
    Step(2, "acquire", "SimLock", at(18, "with lock_b, lock_a:"), 1, True),
    Step(1, "acquire", "SimLock", at(14, "with lock_a, lock_b:"), 1, True),
    Step(1, "acquire", "SimLock", at(14, "with lock_a, lock_b:"), 1, True),
    Step(1, "block", "Lock `lock_b`", at(14, "with lock_a, lock_b:"), 2, False),
    Step(2, "block", "Lock `lock_a`", at(18, "with lock_b, lock_a:"), None, False),
]


def test_an_abba_table_is_byte_identical_to_before():
    assert table(ABBA, ["abba", "one", "two"]) == [
        columns("T0 abba", "T1 one", "T2 two"),
        RULE,
        columns("prog.py:23  t1.start()", "", ""),
        columns("prog.py:24  t2.start()", "", ""),
        columns("prog.py:25  t1.join()", "", ""),
        columns('[blocked on thread "one"]', "", ""),
        columns("", "", "prog.py:18  with lock_b, lock_a:"),
        columns("", "", "[preempted]"),
        columns("", "prog.py:14  with lock_a, lock_b:", ""),
        columns("", "[blocked on Lock `lock_b`]", ""),
        columns("", "", "prog.py:18  with lock_b, lock_a:"),
        columns("", "", "[blocked on Lock `lock_a`; no thread can ru…"),
    ]


def test_rows_that_come_only_twice_and_carried_lines_are_written_as_before():
    sleep = "time.sleep(0)  # a switch point between the read and the write"
    lost_update = [
        *starts(range(1, 3), line=59, then=1),
        Step(1, "yield", None, at(54, sleep), 2, False),
        Step(2, "yield", None, at(54, sleep), 1, False),
        Step(1, "yield", None, at(54, sleep), 2, False),
        Step(2, "yield", None, at(54, sleep), 1, False),
        Step(1, "exit", None, None, 2, False),
        Step(2, "exit", None, None, 0, False),
        Step(0, "join", 'thread "w2"', at(60, "t.join()"), 0, True),
    ]
    shown = "prog.py:54  time.sleep(0)  # a switch point…"
    yielded = "[yielded (sleep(0))]"
    assert table(lost_update, ["lost_update", "add-0", "add-1"]) == [
        columns("T0 lost_update", "T1 add-0", "T2 add-1"),
        RULE,
        columns("prog.py:59  t.start()", "", ""),
        columns("prog.py:60  t.join()", "", ""),
        columns('[blocked on thread "w1"]', "", ""),
        *[columns("", shown, ""), columns("", yielded, "")],
        *[columns("", "", shown), columns("", "", yielded)],
        *[columns("", shown, ""), columns("", yielded, "")],
        *[columns("", "", shown), columns("", "", yielded)],
        columns("", "[finished]", ""),
        columns("", "", "[finished]"),
        columns("prog.py:60  t.join()", "", ""),
    ]
    racy = [
        *starts(range(1, 3), line=90, then=1),
        Step(1, "line", None, at(84, "seen = box.value"), 1, True),
        Step(1, "line", None, at(85, "box.value = seen + 1"), 2, True),
        Step(2, "line", None, at(84, "seen = box.value"), 2, True),
        Step(2, "line", None, at(85, "box.value = seen + 1"), 2, True),
        Step(2, "exit", None, None, 1, False),
        Step(1, "exit", None, None, 0, False),
        Step(0, "join", 'thread "w2"', at(91, "t.join()"), 0, True),
    ]
    assert table(racy, ["racy", "add-0", "add-1"])[2:] == [
        columns("prog.py:90  t.start()", "", ""),
        columns("prog.py:91  t.join()", "", ""),
        columns('[blocked on thread "w1"]', "", ""),
        columns("", "prog.py:84  seen = box.value", ""),
        columns("", "[preempted before line 85]", ""),
        columns("", "", "prog.py:84  seen = box.value"),
        columns("", "", "prog.py:85  box.value = seen + 1"),
        columns("", "", "[finished]"),
        columns("", "prog.py:85  box.value = seen + 1", ""),
        columns("", "[finished]", ""),
        columns("prog.py:91  t.join()", "", ""),
    ]


# -- exact repeats fold ----------------------------------------------------------------------
def spin(iterations: int) -> list[Step]:
    """T1 runs lines 5-6 and is preempted, T2 runs line 9 and is preempted, again and again,
    until the run is stopped at its bound of switch points."""
    steps = starts(range(1, 3), then=1)
    for i in range(iterations):
        last = i == iterations - 1
        steps += [
            Step(1, "acquire", "Lock `a`", at(5, "while not flag:"), 1, True),
            Step(1, "release", "Lock `a`", at(6, "pass"), 2, True),
            Step(2, "acquire", "Lock `a`", at(9, "while not flag:"), None if last else 1, True),
        ]
    return steps


def test_a_two_thread_spin_folds_to_a_few_lines_with_the_exact_count():
    lines = table(spin(5000), ["main", "one", "two"])
    assert len(lines) == 16  # 25,005 before
    t1 = [columns("", "prog.py:5  while not flag:", ""), columns("", "prog.py:6  pass", "")]
    t2 = [columns("", "", "prog.py:9  while not flag:")]
    assert lines[2:] == [
        columns("prog.py:3  t.start()", "", ""),
        columns("prog.py:4  t.join()", "", ""),
        columns('[blocked on thread "w1"]', "", ""),
        *t1,
        columns("", "[preempted]", ""),
        *t2,
        columns("", "", "[preempted]"),
        "… the 2 rows above repeat 4,998 more times",  # 1 + 4,998 + the last, stopped one
        *t1,
        columns("", "[preempted]", ""),
        *t2,
        columns("", "", "[preempted; the run stopped here]"),
    ]


def test_a_loop_inside_one_stretch_folds_in_its_column():
    steps = starts(range(1, 2), then=1)
    for _ in range(1000):
        steps += [
            Step(1, "line", None, at(5, "while not flag:"), 1, True),
            Step(1, "line", None, at(6, "pass"), 1, True),
        ]
    steps.append(Step(1, "line", None, at(5, "while not flag:"), None, True))
    lines = table(steps, ["main", "one"])
    assert lines[5:] == [
        columns("", "prog.py:5  while not flag:"),
        columns("", "prog.py:6  pass"),
        columns("", "… the 2 lines above repeat 999 more times"),
        columns("", "prog.py:5  while not flag:"),
        columns("", "[preempted; the run stopped here]"),
    ]
    # In a narrow column the count is kept, in fewer words.
    four = [
        *steps[:-1],
        Step(1, "exit", None, None, 2, False),
        Step(2, "exit", None, None, 3, False),
        Step(3, "block", "Lock `a`", at(7, "with a:"), None, False),
    ]
    narrow = table(four, ["main", "one", "two", "three"])
    assert any("… 2 lines, 999 more times" in line for line in narrow)
    assert max(map(len, narrow)) <= REPORT_WIDTH - 2


def test_fold_writes_exact_repeats_once_and_leaves_everything_else_alone():
    from snarl.exploration.stretches import Repeat, fold

    assert fold(list("xababababy")) == ["x", "a", "b", Repeat(2, 3), "y"]
    assert fold(list("xaaaay")) == ["x", "a", Repeat(1, 3), "y"]
    assert fold(list("abab")) == list("abab")  # twice reads better written out
    assert fold(list("abcabd")) == list("abcabd")
    rng = random.Random(12)
    for _ in range(300):
        items: list[str] = []
        while len(items) < 60:
            block = rng.choices("abc", k=rng.randint(1, 4))
            items += block * rng.choice([1, 1, 2, 3, 7])
        expanded: list[str] = []
        for item in fold(items):
            if isinstance(item, Repeat):
                expanded += expanded[-item.period :] * item.more
            else:
                expanded.append(item)
        assert expanded == items


# -- wide failures ---------------------------------------------------------------------------
def wide(workers: int, raiser: int) -> list[Step]:
    """Thread 0 starts ``workers`` threads; each finishes in turn, but ``raiser`` runs two
    lines, is preempted, and, once the others have finished, raises (the run ends)."""
    steps = starts(range(1, workers + 1), then=1)
    for t in range(1, workers + 1):
        if t == raiser:
            steps += [
                Step(t, "acquire", "Lock `l`", at(20, "with lock:"), t, True),
                Step(t, "release", "Lock `l`", at(21, "shared = seen + 1"), t + 1, True),
            ]
        else:
            steps.append(Step(t, "exit", None, None, raiser if t == workers else t + 1, False))
    return steps


def names(threads: int) -> list[str]:
    return ["main", *(f"worker-{t - 1}" for t in range(1, threads))]


def test_a_200_thread_failure_shows_the_threads_that_did_something():
    lines = table(wide(200, raiser=101), names(201))
    assert max(map(len, lines)) <= REPORT_WIDTH - 2  # 5,424 characters before
    assert lines[0] == (
        "(199 threads not shown: T1-T100, T102-T200; they only started and finished)"
    )
    assert lines[1].split() == ["T0", "main", "|", "T101", "worker-100"]
    assert lines[5:] == [
        columns('[blocked on thread "w1"]', ""),
        columns("", "prog.py:20  with lock:"),
        columns("", "prog.py:21  shared = seen + 1"),
        columns("", "[preempted]"),
        columns("", "[end]"),
    ]


def test_a_200_thread_failure_shows_the_involved_threads_the_caller_names():
    lines = table(wide(200, raiser=101), names(201), involved={101})
    assert max(map(len, lines)) <= REPORT_WIDTH - 2
    assert lines[0] == (
        "(200 threads not shown: T0-T100, T102-T200; 199 only started and finished,"
        " 1 not involved in the failure)"
    )
    assert lines[1:] == [
        "T101 worker-100",
        "-" * 44,
        "prog.py:20  with lock:",
        "prog.py:21  shared = seen + 1",
        "[preempted]",
        "[end]",
    ]


def six_threads() -> list[Step]:
    """Five workers each run a line and are preempted, in turn; then worker T3 raises."""
    steps = starts(range(1, 6), then=1)
    for t in range(1, 6):
        then = t + 1 if t < 5 else 3
        steps.append(Step(t, "acquire", "Lock `l`", at(30 + t, f"step_{t}()"), then, True))
    steps.append(Step(3, "release", "Lock `l`", at(40, "finish()"), 3, True))
    return steps


def test_six_busy_threads_become_a_list_one_line_per_stretch():
    lines = table(six_threads(), names(6))
    assert lines == [
        "T0 main:     prog.py:3  t.start()",
        '             prog.py:4  t.join()  [blocked on thread "w1"]',
        "T1 worker-0: prog.py:31  step_1()  [preempted]",
        "T2 worker-1: prog.py:32  step_2()  [preempted]",
        "T3 worker-2: prog.py:33  step_3()  [preempted]",
        "T4 worker-3: prog.py:34  step_4()  [preempted]",
        "T5 worker-4: prog.py:35  step_5()  [preempted]",
        "T3 worker-2: prog.py:40  finish()",
    ]


def test_six_threads_with_the_involved_one_named_hide_the_others():
    lines = table(six_threads(), names(6), involved={3})
    assert lines[0] == "(2 threads not shown: T0-T1; not involved in the failure)"
    assert lines[1].split("|")[0].strip() == "T2 worker-1"
    assert [cell.strip() for cell in lines[1].split("|")] == [
        "T2 worker-1",
        "T3 worker-2",
        "T4 worker-3",
        "T5 worker-4",
    ]
    assert max(map(len, lines)) <= REPORT_WIDTH - 2


def test_a_long_stretch_in_the_list_form_keeps_its_reason_and_its_loop_count():
    steps = starts(range(1, 6), then=1)
    for _ in range(50):
        steps += [
            Step(1, "line", None, at(5, "while not flag:  " + "x" * 200), 1, True),
            Step(1, "line", None, at(6, "pass"), 1, True),
        ]
    steps.append(Step(1, "exit", None, None, 2, False))
    steps += [Step(t, "block", "Lock `l`", at(50, "with l:"), t + 1, False) for t in (2, 3, 4)]
    steps.append(Step(5, "block", "Lock `l`", at(50, "with l:"), None, False))
    lines = table(steps, names(6))
    assert max(map(len, lines)) <= REPORT_WIDTH - 2
    assert lines[2].startswith("T1 worker-0: prog.py:5  while not flag:  xxx")
    assert lines[3:6] == [
        "             prog.py:6  pass",
        "             … the 2 lines above repeat 49 more times",
        "             [finished]",
    ]
    assert lines[-1] == "T5 worker-4: prog.py:50  with l:  [blocked on Lock `l`; no thread can run]"


def test_the_thread_that_ended_the_run_has_its_last_stretch():
    # T0 hands over to T1, which raises before its first switch point.
    steps = starts(range(1, 2), then=1)
    assert table(steps, ["main", "worker"])[-1] == columns("", "[end]")


# -- end to end ------------------------------------------------------------------------------
def spinning_pair() -> None:
    flag: list[int] = []

    def spinner() -> None:
        while not flag:  # nobody sets it
            time.sleep(0)

    threads = [threading.Thread(target=spinner, name=f"spin-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def forty_appenders() -> None:
    seen: list[int] = []

    def append(i: int) -> None:
        seen.append(i)
        if len(seen) == 40:
            raise ValueError("the last one to append fails")

    threads = [threading.Thread(target=append, args=(i,), name=f"add-{i}") for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_livelock_report_is_short():
    f = snarl.explore(spinning_pair, schedules=20, seed=1, max_steps=2000).failure
    assert f is not None and f.kind == "livelock"
    report = f.report.splitlines()
    assert len(report) < 60  # 4,007 lines before
    assert any("rows above repeat" in line for line in report)


def test_a_forty_thread_report_stays_narrow():
    f = snarl.explore(forty_appenders, schedules=20, seed=1).failure
    assert f is not None and f.kind == "exception"
    report = f.report.splitlines()
    start = next(i for i, line in enumerate(report) if line.startswith("Interleaving:"))
    shown = report[start : report.index("Replay it with:")]
    assert max(map(len, shown)) <= REPORT_WIDTH  # 1,079 characters before
    hidden = re.search(r"\((\d+) threads not shown: ", shown[1])
    assert hidden is not None and int(hidden.group(1)) >= 38, shown[1]  # of 41
