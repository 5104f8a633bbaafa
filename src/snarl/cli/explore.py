"""``snarl explore`` and ``snarl replay``: a test under many thread schedules, and under one."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .common import positive, say, seconds, usage

__all__ = ["EXPLORE_EXIT_CODES", "REPLAY_EXIT_CODES", "add", "add_replay", "load_target"]

STRATEGY_NAMES = ("random", "pct", "dfs")
GRANULARITY_NAMES = ("auto", "sync", "shared", "line", "bytecode", "gil")

EXIT_DIVERGED = 3
EXIT_STUCK = 10
EXIT_INTERRUPTED = 130

EXPLORE_EXIT_CODES = (
    ("0", "no failing schedule found"),
    (
        "1",
        "a failing schedule found (its report and replay command on stdout); with --races,"
        " a data race is one",
    ),
    ("2", "usage error, or the test is not deterministic (a failure did not replay)"),
    (
        str(EXIT_STUCK),
        "a thread blocked outside snarl's control, or spinning where nothing switches",
    ),
    (
        str(EXIT_INTERRUPTED),
        "interrupted (Ctrl-C): what ran so far, and any failure found, is reported",
    ),
)

REPLAY_EXIT_CODES = (
    ("0", "the test passed under the schedule"),
    ("1", "the failure reproduced"),
    ("2", "usage error, or an invalid replay token"),
    (str(EXIT_DIVERGED), "did not reproduce: the program no longer fits the recording"),
    (
        str(EXIT_STUCK),
        "a thread blocked outside snarl's control, or spinning where nothing switches",
    ),
)

EXPLORE_EXAMPLES = (
    ("snarl explore tests/test_bank.py::test_transfer", "1000 random schedules of one test"),
    (
        "snarl explore test_cache.py::TestCache::test_get --strategy pct --schedules 5000",
        "a test method, under 5000 PCT schedules",
    ),
    ("snarl explore t.py::test_x --jobs 2 --json", "over two processes; the result as JSON"),
    (
        "snarl explore t.py::test_x --races",
        "also fail any schedule in which two threads race on the same state",
    ),
)

REPLAY_EXAMPLES = (
    (
        "snarl replay snarl-AQML... tests/test_bank.py::test_transfer",
        "rerun the failing schedule explore printed, with its interleaving table",
    ),
    (
        "snarl replay snarl-AQML... t.py::test_x --timeline failure.html",
        "the same, and the schedule as a timeline page",
    ),
)


def add(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl explore`` to the subcommands."""
    explore = sub.add_parser(
        "explore",
        help="run a test under many thread schedules; find, shrink and report a failure",
        description=(
            "Run FILE.py::TEST (a function with no arguments that starts threads, joins them"
            " and asserts) under controlled schedules until one fails: an exception, an"
            " assertion, a deadlock or lost wakeup, a livelock.  Every blocking operation is a"
            " switch point, whenever its object was made (at import, as a default argument, in"
            " the standard library), timed waits may time out at any of them, and time is"
            " virtual.  The failure is shrunk to the fewest preemptions (for --shrink-time at"
            " most) and printed with a replay command.\n\n"
            "TEST may be CLASS::METHOD: a new instance of CLASS (made without arguments)"
            " runs METHOD each time, between its setup_method and teardown_method if it has"
            " them.\n\n"
            "On a terminal a progress line shows the rate and the time left.  Ctrl-C"
            " stops after the current schedule with a summary of what ran (during shrinking:"
            " the failure with the smallest schedule so far); a second Ctrl-C stops at once."
            "\n\n"
            "With --races every schedule also runs the data race detector (as snarl race"
            " does) on the test file and the user modules it imports: a schedule in which two"
            " threads access the same location with no happens-before order between them, one"
            " of them writing, is a failure of kind race (exit code 1), even when its"
            " assertions pass.  It is reported with both accesses and the interleaving, and"
            " its replay command carries --races."
        ),
    )
    explore.add_argument("target", metavar="FILE.py::TEST", help="the test function")
    explore.add_argument(
        "--strategy",
        choices=STRATEGY_NAMES,
        default="random",
        help="how schedules are chosen: random switches, PCT priorities (Burckhardt et al."
        " 2010), or a bounded depth-first search of every schedule (default: %(default)s)",
    )
    explore.add_argument(
        "--schedules",
        type=positive,
        default=1000,
        metavar="N",
        help="run at most N schedules (default: %(default)d)",
    )
    explore.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="the seed of random and pct: the same seed runs the same schedules"
        " (default: %(default)d)",
    )
    explore.add_argument(
        "--granularity",
        choices=GRANULARITY_NAMES,
        default="auto",
        help=(
            "where threads may be switched besides blocking: auto (half the schedules"
            " at synchronisation operations only, half also before every access to shared"
            " state), sync, shared, line, bytecode or gil (default: %(default)s)"
        ),
    )
    explore.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PACKAGE",
        help=(
            "also switch inside this installed package's code, as in your own (repeatable;"
            " the standard library and site-packages are otherwise run without switches)"
        ),
    )
    explore.add_argument(
        "--races",
        action="store_true",
        help=(
            "also run the data race detector in every schedule: a data race is a failure"
            " (kind race), even when the test's assertions pass"
        ),
    )
    explore.add_argument(
        "--depth",
        type=positive,
        default=3,
        metavar="D",
        help="pct: its depth (default: %(default)d)",
    )
    explore.add_argument(
        "--preemption-bound",
        type=int,
        default=2,
        metavar="B",
        help="dfs: at most B preemptions per schedule (default: %(default)d)",
    )
    explore.add_argument(
        "--max-steps",
        type=positive,
        default=10_000,
        metavar="N",
        help="a schedule longer than N steps is a livelock (default: %(default)d)",
    )
    explore.add_argument(
        "--jobs",
        type=positive,
        default=1,
        metavar="J",
        help="split the schedules over J processes (random and pct; default: %(default)d)",
    )
    explore.add_argument("--json", action="store_true", help="print the result as JSON")
    explore.add_argument("--no-shrink", action="store_true", help="report the failure as found")
    explore.add_argument(
        "--shrink-time",
        type=seconds,
        default=10.0,
        metavar="SECONDS",
        help="stop shrinking after this long, reporting the smallest failing schedule so far"
        " (default: %(default)g)",
    )
    explore.add_argument(
        "--timeline", metavar="FILE", help="write the failing schedule as a timeline (.html)"
    )
    explore.set_defaults(handler=handle_explore)
    return explore


def add_replay(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``snarl replay`` to the subcommands."""
    rep = sub.add_parser(
        "replay",
        help="run a test under the schedule of a replay token",
        description=(
            "Replay the schedule TOKEN (printed by snarl explore) on FILE.py::TEST, exactly,"
            " and print the failure with its interleaving table."
        ),
    )
    rep.add_argument("token", metavar="TOKEN", help="the replay token snarl explore printed")
    rep.add_argument("target", metavar="FILE.py::TEST", help="the test function")
    rep.add_argument("--json", action="store_true", help="print the result as JSON")
    rep.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="as given to snarl explore (the replay command it prints repeats it)",
    )
    rep.add_argument(
        "--races",
        action="store_true",
        help="run the data race detector, as snarl explore --races did (its command repeats it)",
    )
    rep.add_argument(
        "--timeline", metavar="FILE", help="write the replayed schedule as a timeline (.html)"
    )
    rep.set_defaults(handler=handle_replay)
    return rep


def load_target(
    spec: str, *, races: bool = False, include: Sequence[str] = ()
) -> tuple[Callable[[], Any], str]:
    """``FILE.py::TEST`` or ``FILE.py::CLASS::TEST`` → the test function and the spec; see
    :func:`snarl.exploration.target.load_target` (``races``: instrumented for the race
    detector)."""
    from ..exploration.target import load_target as load

    return load(spec, races=races, include=include)


def handle_explore(args: argparse.Namespace) -> int:
    """Run ``snarl explore``; returns the exit code."""
    from ..errors import DidNotReproduce, Flaky
    from ..exploration.progress import Progress
    from ..exploration.runner import StuckOutsideControl, explore

    try:
        fn, spec = load_target(args.target, races=args.races, include=args.include)
    except ValueError as exc:
        return usage("explore", str(exc))
    except KeyboardInterrupt:
        say("snarl explore: interrupted")
        return EXIT_INTERRUPTED
    if args.jobs > 1 and args.strategy == "dfs":
        return usage("explore", "--jobs splits random and pct schedules; dfs runs in one process")
    from ..exploration.execution import package_folders

    try:  # (after loading: the test file may put the package's folder on the path)
        package_folders(args.include)
    except ValueError as exc:
        return usage("explore", str(exc))
    options: dict[str, Any] = {
        "strategy": args.strategy,
        "schedules": args.schedules,
        "seed": args.seed,
        "granularity": args.granularity,
        "depth": args.depth,
        "max_steps": args.max_steps,
        "shrink": not args.no_shrink,
        "shrink_seconds": args.shrink_time,
        "include": args.include,
        "races": args.races,
    }
    try:  # the progress line (on a terminal) and the first Ctrl-C (anywhere): see Progress
        with Progress(sys.stderr if sys.stderr.isatty() and not args.json else None) as line:
            options.update(progress=line.schedules, shrink_progress=line.shrinking)
            if args.jobs > 1:
                from ..exploration.jobs import explore_in_processes

                result = explore_in_processes(args.target, jobs=args.jobs, **options)
            else:
                result = explore(fn, preemption_bound=args.preemption_bound, target=spec, **options)
    except StuckOutsideControl as exc:
        say(f"snarl explore: error: {exc}")
        return EXIT_STUCK
    except (Flaky, DidNotReproduce) as exc:  # a failure that did not replay
        say(f"snarl explore: error: the test is not deterministic: {exc}. {Flaky.help}")
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C: nothing to summarise
        say("snarl explore: interrupted")
        return EXIT_INTERRUPTED
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result)
    _write_timeline("explore", args.timeline, result.failure)
    return EXIT_INTERRUPTED if result.interrupted else 1 if result.found else 0


def _write_timeline(command: str, path: str | None, failure: Any) -> None:
    if path is None:
        return
    if failure is None:
        say(f"snarl {command}: no failing schedule, so no timeline written")
        return
    from ..timeline import save, timeline_from_failure

    save(path, [timeline_from_failure(failure)])
    say(f"snarl {command}: timeline written to {path}")


def handle_replay(args: argparse.Namespace) -> int:
    """Run ``snarl replay``; returns the exit code."""
    from ..errors import DidNotReproduce, InvalidToken
    from ..exploration.runner import StuckOutsideControl, replay

    try:
        fn, spec = load_target(args.target, races=args.races, include=args.include)
    except ValueError as exc:
        return usage("replay", str(exc))
    try:
        failure = replay(fn, args.token, target=spec, include=args.include, races=args.races)
    except InvalidToken as exc:
        return usage("replay", f"invalid replay token: {exc}")
    except DidNotReproduce as exc:
        say(f"snarl replay: did not reproduce: {exc}")
        return EXIT_DIVERGED
    except StuckOutsideControl as exc:
        say(f"snarl replay: error: {exc}")
        return EXIT_STUCK
    if args.json:
        print(json.dumps({"failed": failure is not None, **(failure.to_dict() if failure else {})}))
    elif failure is None:
        print("The test passed under this schedule.")
    else:
        print(failure.report)
    _write_timeline("replay", args.timeline, failure)
    return 1 if failure is not None else 0
