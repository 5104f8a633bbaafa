"""The watchdog in this process: what it reports, once, and what it never reports.

Periods and thresholds are small (0.05 s / 0.3 s).  Every test waits for the report it
expects with an Event set by the report callback, and for "nothing more was reported" it
waits until the watchdog has made a given number of further checks: no lucky sleep decides
an outcome.
"""

from __future__ import annotations

import concurrent.futures
import io
import json
import queue
import threading
import time
from dataclasses import replace

import pytest

import snarl
from snarl.hangs import ABORT_EXIT_CODE, KINDS, Report, Watchdog, watch
from snarl.runtime.observer import tracked_state
from snarl.sync import Lock

from ..helpers import JOIN_TIMEOUT, line_in

HERE = __file__
PERIOD, STUCK = 0.05, 0.3
# The first line of a report of one stuck thread (a constant: the dumps in the reports show
# the test's own source lines, which must not contain it).
STUCK_HEADER = "snarl watchdog: 1 stuck thread · pid"


def stale_orphans() -> frozenset[int]:
    """Ids of tracked locks already held by exited threads: leftovers of earlier tests in this
    process (a watchdog rightly reports them; a test only looks at its own)."""
    state = tracked_state()
    return frozenset(lock_id for rec in state["exited"].values() for lock_id in rec["held"])


class Reports:
    """A report callback that keeps every report and lets a test wait for the next one.

    ``raw`` has the reports as delivered; ``all`` the same without findings of locks that were
    orphaned before the test began (``stale``), and without reports left empty by that.
    """

    def __init__(self, stale: frozenset[int] = frozenset()) -> None:
        self.stale = stale
        self.raw: list[Report] = []
        self.all: list[Report] = []
        self._cond = threading.Condition()

    def __call__(self, report: Report) -> None:
        orphaned = tuple(o for o in report.orphaned if o.lock.id not in self.stale)
        kinds = tuple(k for k in report.kinds if k != "orphaned-lock" or orphaned)
        with self._cond:
            self.raw.append(report)
            if kinds:
                self.all.append(replace(report, kinds=kinds, orphaned=orphaned))
            self._cond.notify_all()

    def wait(self, count: int = 1, timeout: float = JOIN_TIMEOUT) -> list[Report]:
        # A loop around the wait: the watchdog's rule calls this thread parked, not stuck.
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.all) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.all)} reports after {timeout} s, wanted {count}"
                self._cond.wait(left)
            return list(self.all)

    def stuck(self) -> list:
        return [s for r in self.all for s in r.stuck]


def checks_reached(wd: Watchdog, target: int) -> None:
    """Wait (bounded) until the watchdog has made ``target`` checks in all."""
    deadline = time.monotonic() + JOIN_TIMEOUT + target * wd.period
    while wd.checks < target:
        assert time.monotonic() < deadline, f"only {wd.checks} checks, wanted {target}"
        time.sleep(min(wd.period, 1.0) / 5)


def more_checks(wd: Watchdog, n: int) -> None:
    """Wait (bounded) until the watchdog has made ``n`` more checks."""
    checks_reached(wd, wd.checks + n)


@pytest.fixture
def reports() -> Reports:
    """A Reports callback, made before the test body runs (so its stale set is the earlier
    tests' leftovers only)."""
    return Reports(stale_orphans())


def start_watch(threads, reports: Reports, **options) -> Watchdog:
    options.setdefault("report", reports)
    wd = watch(PERIOD, STUCK, **options)
    threads.on_teardown(wd.stop)
    return wd


# ---- 300 idle workers and one stuck thread ------------------------------------------------


def idle_crowd(threads, n: int = 100) -> list[threading.Thread]:
    """3 x n idle threads: a pool's workers between tasks, Queue.get workers, and workers
    parked on an Event in a loop.  Returns them once every one is parked."""
    pool = concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="pool")
    everyone = threading.Barrier(n)  # each task waits for all: the pool starts n workers
    list(pool.map(lambda _: everyone.wait(JOIN_TIMEOUT), range(n)))
    threads.on_teardown(pool.shutdown)
    workers = [t for t in threading.enumerate() if t.name.startswith("pool_")]
    assert len(workers) == n

    jobs: queue.Queue = queue.Queue()

    def get_jobs() -> None:
        while jobs.get() is not None:
            pass

    getters = [threads.start(get_jobs, name=f"getter-{i}") for i in range(n)]
    threads.on_teardown(lambda: [jobs.put(None) for _ in getters])

    wake = threading.Event()

    def parked() -> None:
        while not threads.stop.is_set():
            wake.wait()

    parkers = [threads.start(parked, name=f"parked-{i}") for i in range(n)]
    threads.on_teardown(wake.set)
    threads.on_teardown(threads.stop.set)
    crowd = workers + getters + parkers
    snarl.wait_until_blocked(*crowd, timeout=JOIN_TIMEOUT)
    return crowd


def test_of_300_idle_workers_and_one_stuck_thread_only_the_stuck_one_is_reported(threads, reports):
    crowd = idle_crowd(threads)
    blocker = threading.Lock()
    holder_jobs: queue.Queue = queue.Queue()

    def hold() -> None:
        with blocker:  # holds it, then waits for work forever: idle, but holding the lock
            holder_jobs.get()

    def queue_behind_holder() -> None:
        with blocker:
            pass

    holder = threads.start(hold, name="holder")
    snarl.wait_until_blocked(holder, kinds={"queue-get"}, timeout=JOIN_TIMEOUT)
    threads.on_teardown(lambda: holder_jobs.put(None))
    stuck = threads.start(queue_behind_holder, name="stuck")
    snarl.wait_until_blocked(stuck, kinds={"lock"}, timeout=JOIN_TIMEOUT)

    wd = start_watch(threads, reports)
    [report] = reports.wait()
    more_checks(wd, 3 * int(STUCK / PERIOD))  # three more thresholds: nobody else turns up

    assert len(reports.all) == 1, [r.kinds for r in reports.all]
    assert report.kinds == ("stuck",)
    [finding] = report.stuck
    assert (finding.name, finding.ident) == ("stuck", stuck.ident)
    assert finding.waited >= STUCK
    assert finding.basis == "observed"  # untracked: timed by the watchdog's own checks
    assert finding.wait.kind == "lock"
    assert finding.wait.lineno == line_in(HERE, "queue_behind_holder", "with blocker:")
    [h] = finding.holders
    assert (h.name, h.status, h.basis, h.state) == ("holder", "blocked", "with-block", "idle")
    assert "Queue" in h.doing
    assert len(report.snapshot.threads) >= len(crowd) + 2
    assert "snarl-watchdog" not in {t.name for t in report.snapshot.threads}
    text = report.format()
    assert '"stuck" has waited' in text
    assert "a lower bound" in text
    assert 'held by "holder" (inferred from with-block): blocked, idle' in text
    assert "snarl dump of pid" in text  # the full dump follows the findings


def test_tracked_a_lock_left_by_an_exited_thread_is_reported_once_with_its_waiter(
    threads, installed, reports
):
    crowd = idle_crowd(threads)
    blocker = threading.Lock()  # snarl's, since installed
    quitter = threads.start(blocker.acquire, name="quitter")  # takes it and exits
    quitter.join(JOIN_TIMEOUT)
    threads.on_teardown(blocker.release)

    def wait_for_it() -> None:
        with blocker:
            pass

    stuck = threads.start(wait_for_it, name="stuck")
    snarl.wait_until_blocked(stuck, kinds={"lock"}, timeout=JOIN_TIMEOUT)

    wd = start_watch(threads, reports)
    reports.wait()
    more_checks(wd, 3 * int(STUCK / PERIOD))

    orphans = [o for r in reports.all for o in r.orphaned]
    [orphan] = orphans
    assert (orphan.owner, orphan.owner_name) == (quitter.ident, "quitter")
    assert orphan.lock.name == "blocker"
    assert orphan.waiters == (stuck.ident,)
    [finding] = reports.stuck()
    assert finding.ident == stuck.ident
    assert finding.basis == "tracked"  # snarl's records timed the wait
    [h] = finding.holders
    assert (h.name, h.status) == ("quitter", "gone")
    idle_idents = {t.ident for t in crowd}
    assert not idle_idents & {s.ident for s in reports.stuck()}
    text = "".join(r.format() for r in reports.all)
    assert "Locks held by threads that have exited" in text
    assert 'by "quitter", which exited' in text


# ---- deadlocks ----------------------------------------------------------------------------


def take(first: Lock, second: Lock, both: threading.Barrier) -> None:
    first.acquire()
    both.wait(JOIN_TIMEOUT)
    second.acquire()
    second.release()
    if first.locked():  # the test released the first lock to end the deadlock
        first.release()


def test_an_abba_deadlock_is_reported_exactly_once_across_many_checks(threads, reports):
    lock_a, lock_b = Lock(name="lock_a"), Lock(name="lock_b")
    both = threading.Barrier(2)
    ab = threads.start(take, lock_a, lock_b, both, name="AB")
    ba = threads.start(take, lock_b, lock_a, both, name="BA")
    threads.on_teardown(lock_a.release)
    snarl.wait_until_blocked(ab, ba, kinds={"lock"}, timeout=JOIN_TIMEOUT)

    wd = start_watch(threads, reports)
    [report] = reports.wait()
    more_checks(wd, 4 * int(STUCK / PERIOD))  # well past the stuck threshold too

    assert len(reports.all) == 1, [r.kinds for r in reports.all]
    assert report.kinds == ("deadlock",)
    [cycle] = report.deadlocks
    assert cycle.certain
    assert {s.thread for s in cycle.steps} == {ab.ident, ba.ident}
    assert {s.wait.object.name for s in cycle.steps} == {"lock_a", "lock_b"}
    assert not report.stuck  # threads in a reported cycle are not reported again as stuck
    assert set(report.cpu_share) == {ab.ident, ba.ident}
    assert all(share < 0.5 for share in report.cpu_share.values())  # blocked, not spinning
    assert "Deadlock 1 of 1, reported once" in report.format()


def test_a_stuck_thread_is_reported_once_per_stuck_wait(threads, reports):
    first, second = threading.Lock(), threading.Lock()
    first.acquire()
    second.acquire()

    def two_waits() -> None:
        first.acquire()  # stuck until the test releases it
        second.acquire()  # then stuck again, on another lock
        second.release()

    threads.on_teardown(lambda: second.locked() and second.release())
    worker = threads.start(two_waits, name="worker")
    snarl.wait_until_blocked(worker, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    wd = start_watch(threads, reports)
    reports.wait(1)
    more_checks(wd, 2 * int(STUCK / PERIOD))
    assert len(reports.stuck()) == 1

    first.release()
    reports.wait(2)
    more_checks(wd, 2 * int(STUCK / PERIOD))

    assert [s.wait.lineno for s in reports.stuck()] == [
        line_in(HERE, "two_waits", "first.acquire()"),
        line_in(HERE, "two_waits", "second.acquire()"),
    ]
    assert all(s.holders == () for s in reports.stuck())  # bare acquires, untracked
    assert "holder unknown" in reports.all[0].format()


# ---- thread waits: stuck only behind a thread that does not work --------------------------


def test_a_join_on_a_sleeping_thread_is_not_stuck_and_is_rechecked_once_per_threshold(
    threads, reports
):
    def nap() -> None:
        while not threads.stop.is_set():
            time.sleep(0.001)

    napper = threads.start(nap, name="napper")
    joiner = threads.start(napper.join, name="joiner")
    snarl.wait_until_blocked(joiner, kinds={"thread-join"}, timeout=JOIN_TIMEOUT)

    started = time.monotonic()
    wd = start_watch(threads, reports)
    more_checks(wd, 6 * int(STUCK / PERIOD))
    elapsed = time.monotonic() - started

    assert reports.all == []
    # A full snapshot at most once per threshold (plus the first look), not every period.
    assert wd.snapshots <= elapsed / STUCK + 2, (wd, elapsed)


def test_a_join_on_a_blocked_thread_is_stuck(threads, reports):
    jobs: queue.Queue = queue.Queue()
    worker = threads.start(jobs.get, name="worker")  # never gets its sentinel
    threads.on_teardown(lambda: jobs.put(None))
    joiner = threads.start(worker.join, name="joiner")
    snarl.wait_until_blocked(worker, joiner, timeout=JOIN_TIMEOUT)

    start_watch(threads, reports)
    [report] = reports.wait()

    [finding] = report.stuck
    assert finding.ident == joiner.ident
    [h] = finding.holders
    assert (h.ident, h.status, h.state, h.basis) == (worker.ident, "blocked", "idle", "joined")


def test_a_spinning_holder_shows_as_running_and_uses_more_cpu_than_its_waiter(threads, reports):
    # A tracked lock: its owner is recorded, whatever instruction the spinning frame is at
    # (a with-block inference can miss a frame paused on its loop's backward jump).
    held = Lock(name="held")
    spinning = threading.Event()

    def spin() -> None:
        held.acquire()
        spinning.set()
        while not threads.stop.is_set():
            pass
        held.release()

    def wait_for_it() -> None:
        with held:
            pass

    spinner = threads.start(spin, name="spinner")
    assert spinning.wait(JOIN_TIMEOUT)
    waiter = threads.start(wait_for_it, name="waiter")
    snarl.wait_until_blocked(waiter, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    threads.on_teardown(threads.stop.set)

    start_watch(threads, reports)
    [report] = reports.wait()

    [finding] = report.stuck
    [h] = finding.holders
    assert (h.name, h.status, h.basis) == ("spinner", "running", "tracked")
    assert report.cpu_share[spinner.ident] > report.cpu_share[waiter.ident]
    assert report.cpu[spinner.ident] > report.cpu[waiter.ident]


# ---- where reports go ---------------------------------------------------------------------


def stuck_thread(threads) -> threading.Thread:
    held = threading.Lock()
    held.acquire()
    threads.on_teardown(held.release)

    def wait_for_it() -> None:
        with held:
            pass

    t = threads.start(wait_for_it, name="stuck")
    snarl.wait_until_blocked(t, kinds={"lock"}, timeout=JOIN_TIMEOUT)
    return t


def wait_for_text(read, needle: str, wd: Watchdog) -> str:
    deadline = time.monotonic() + JOIN_TIMEOUT
    while True:
        text = read()
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never written; {wd}"
        time.sleep(PERIOD / 5)


def test_report_to_a_file_is_appended(threads, tmp_path):
    path = tmp_path / "hangs.log"
    path.write_text("earlier line\n", encoding="utf-8")
    stuck_thread(threads)
    wd = watch(PERIOD, STUCK, report=str(path))
    threads.on_teardown(wd.stop)

    text = wait_for_text(lambda: path.read_text(encoding="utf-8"), STUCK_HEADER, wd)
    wd.stop()

    assert text.startswith("earlier line\nsnarl watchdog: ")
    assert "\n" + STUCK_HEADER in text
    assert '"stuck" has waited' in text


def test_report_to_a_stream_as_json(threads):
    stream = io.StringIO()
    stuck = stuck_thread(threads)
    wd = watch(PERIOD, STUCK, report=stream, format="json")
    threads.on_teardown(wd.stop)

    text = wait_for_text(stream.getvalue, '"kinds": ["stuck"]', wd)
    wd.stop()

    [data] = [d for d in map(json.loads, text.splitlines()) if d["stuck"]]
    assert data["schema"] == 1 and data["report"] == "snarl-watchdog"
    assert data["kinds"] == ["stuck"]
    [finding] = data["stuck"]
    assert finding["ident"] == stuck.ident and finding["basis"] == "observed"
    snap = snarl.Snapshot.from_dict(data["snapshot"])
    assert stuck.ident in {t.ident for t in snap.threads}


def test_report_to_stderr_goes_to_its_file_descriptor(threads, capfd):
    stuck_thread(threads)
    wd = watch(PERIOD, STUCK)
    threads.on_teardown(wd.stop)
    deadline = time.monotonic() + JOIN_TIMEOUT
    while wd.last_report is None or not wd.last_report.stuck:
        assert time.monotonic() < deadline, wd
        time.sleep(PERIOD / 5)
    wd.stop()

    err = capfd.readouterr().err
    assert err.startswith("snarl watchdog: ")
    assert STUCK_HEADER in err
    assert "snarl dump of pid" in err


def test_a_callback_that_raises_is_reported_and_checks_go_on(threads, capfd):
    stuck_thread(threads)
    calls = []

    def broken(report: Report) -> None:
        calls.append(report)
        raise ValueError("no disk")

    wd = watch(PERIOD, STUCK, report=broken)
    threads.on_teardown(wd.stop)
    deadline = time.monotonic() + JOIN_TIMEOUT
    while not calls:
        assert time.monotonic() < deadline, wd
        time.sleep(PERIOD / 5)
    more_checks(wd, 3)
    assert wd.running
    wd.stop()
    assert "the report callback raised ValueError: no disk" in capfd.readouterr().err


# ---- the thread itself --------------------------------------------------------------------


def test_stop_is_prompt_and_leaves_no_thread():
    wd = watch(period=60.0, stuck=600.0, report=lambda r: None)
    checks_reached(wd, 1)  # the first check runs at once; the thread then waits 60 s
    started = time.monotonic()
    wd.stop()
    elapsed = time.monotonic() - started
    assert elapsed < 30.0, elapsed  # it did not sit out its 60 s period
    assert not wd.running
    assert "snarl-watchdog" not in {t.name for t in threading.enumerate()}
    wd.stop()  # idempotent
    with pytest.raises(RuntimeError, match="cannot be started again"):
        wd.start()


def test_check_runs_one_check_synchronously_and_the_context_manager_stops(threads, reports):
    stuck = stuck_thread(threads)
    with Watchdog(PERIOD, STUCK, report=reports, fallback=False) as wd:
        assert wd.running
    assert not wd.running
    wd2 = Watchdog(PERIOD, STUCK, report=reports, fallback=False)
    assert wd2.check() is None  # first sight of the wait: nothing is stuck yet
    deadline = time.monotonic() + JOIN_TIMEOUT
    report = None
    while report is None or not report.stuck:
        assert time.monotonic() < deadline
        time.sleep(PERIOD)  # time passes for the wait; the check decides
        report = wd2.check()
    assert report.stuck[0].ident == stuck.ident
    assert reports.raw[-1] is report  # check() delivers too
    assert wd2.check() is None  # reported once
    wd2.stop()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"period": 0}, "period must be a positive number of seconds, not 0"),
        ({"stuck": -1}, "stuck must be a positive number of seconds, not -1"),
        ({"period": "1"}, "period must be a positive number of seconds, not '1'"),
        ({"abort": 300}, "abort must be True, False or an exit code 0-255, not 300"),
        ({"abort_on": {"hang"}}, "abort_on takes a collection of deadlock, stuck"),
        ({"abort_on": "deadlock"}, "abort_on takes a collection of"),
        ({"format": "xml"}, "unknown report format 'xml': choose text or json"),
        ({"report": 42}, "report must be None .stderr., a path, a text stream or a callable"),
    ],
)
def test_bad_arguments_are_one_line_errors(kwargs, message):
    error = TypeError if "report" in kwargs else ValueError
    with pytest.raises(error, match=message) as info:
        Watchdog(**kwargs)
    assert "\n" not in str(info.value)


def test_a_bad_report_path_fails_at_once(tmp_path):
    with pytest.raises(OSError):
        watch(report=str(tmp_path / "no" / "such" / "dir.log"))


def test_the_abort_code_and_kinds_are_documented_values():
    assert ABORT_EXIT_CODE == 70
    assert KINDS == ("deadlock", "stuck", "orphaned-lock")
    assert Watchdog(abort=True, fallback=False).abort_code == 70
    assert Watchdog(abort=3, fallback=False).abort_code == 3
    assert Watchdog(abort=False, fallback=False).abort_code is None
