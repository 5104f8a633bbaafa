"""The ``snarl`` command: argument parsing, exit codes, nothing clever.

Exit codes: :data:`EXIT_CODES`, per command, is the one list of them; ``snarl --help`` and
``snarl COMMAND --help`` print it, and the README's "Exit codes" table repeats it.  Every
command: 0 success, 2 usage error.  ``snarl dump``'s 4 to 9 are explained in
:mod:`snarl.remote.client`.
"""

from __future__ import annotations

import argparse
import json
import re
import runpy
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from . import __version__

__all__ = ["EXAMPLES", "example_path", "load_target", "main"]

STRATEGY_NAMES = ("random", "pct", "dfs")
GRANULARITY_NAMES = ("auto", "sync", "shared", "line", "bytecode", "gil")

EXAMPLES = {
    "seed": "seed_blocked.py",
    "abba": "abba_deadlock.py",
    "condition": "condition_no_notify.py",
    "pool": "idle_pool.py",
    "checkinterval": "checkinterval.py",
}
"""Bundled examples runnable with ``snarl demo NAME``."""

EXIT_UNKNOWN_EXAMPLE = 3
EXIT_DIVERGED = 3
EXIT_STUCK = 10
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[str, tuple[tuple[str, str], ...]] = {
    "demo": (("0", "the example ran"), ("2", "usage error"), ("3", "unknown example name")),
    "run": (
        ("N", "the program's own exit code (1 for an uncaught exception, as python gives)"),
        ("2", "usage error"),
        ("70", "--abort-on-deadlock ended it, or under --deterministic every thread blocked"),
    ),
    "dump": (
        ("0", "the threads were dumped"),
        ("2", "usage error"),
        ("4", "no such process"),
        ("5", "not a Python process"),
        ("6", "permission denied"),
        ("7", "unsupported Python version"),
        ("8", "the target did not answer in time"),
        ("9", "no method could reach it"),
    ),
    "explore": (
        ("0", "no failing schedule found"),
        ("1", "a failing schedule found (its report and replay command on stdout)"),
        ("2", "usage error, or the test is not deterministic (a failure did not replay)"),
        ("10", "a thread blocked outside snarl's control, or spinning where nothing switches"),
        ("130", "interrupted (Ctrl-C): what ran so far, and any failure found, is reported"),
    ),
    "replay": (
        ("0", "the test passed under the schedule"),
        ("1", "the failure reproduced"),
        ("2", "usage error, or an invalid replay token"),
        ("3", "did not reproduce: the program no longer fits the recording"),
        ("10", "a thread blocked outside snarl's control, or spinning where nothing switches"),
    ),
}
"""Every command's exit codes: (code, meaning) pairs, printed in its ``--help``."""


def example_path(name: str) -> Path:
    """The file of a bundled example: inside the installed package, or in a source checkout."""
    filename = EXAMPLES[name]
    here = Path(__file__).resolve().parent
    for folder in (here / "examples", here.parent.parent / "examples"):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"example {name!r} is not installed ({filename} not found)")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (and exit code 2), not a usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.HelpFormatter):
    """Descriptions filled as usual; an epilog's indented lines (``  CODE  meaning``) kept as
    lines, their meaning wrapped under itself."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            item = re.match(r"(\s+\S+\s+)(.*)", line)
            first = indent + item[1] if item else indent
            rest = " " * len(first) if item else indent
            words = item[2] if item else " ".join(line.split())
            lines.append(textwrap.fill(words, width, initial_indent=first, subsequent_indent=rest))
        return "\n".join(lines)


def _exit_codes(command: str | None = None) -> str:
    """The epilog of ``snarl COMMAND --help`` (of ``snarl --help`` without a command)."""
    if command is not None:
        return "exit codes:\n" + "\n".join(f"  {c:<5}{text}" for c, text in EXIT_CODES[command])
    lines = ["exit codes (more in COMMAND --help):", f"  {'every':<9}0 success, 2 usage error"]
    for name, codes in EXIT_CODES.items():
        rest = [f"{c} {text}" for c, text in codes if c != "0" and text != "usage error"]
        lines.append(f"  {name:<9}" + "; ".join(rest))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="snarl",
        description="Control and debug Python thread behaviour.",
        epilog=_exit_codes(),
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"snarl {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    demo = sub.add_parser(
        "demo",
        help="run a bundled example",
        description=(
            "Run a bundled example program.  seed, abba, condition and pool end by dumping"
            " their threads; checkinterval runs the seed document's check-interval"
            " demonstrations."
        ),
    )
    demo.add_argument("name", metavar="NAME", help=f"one of: {', '.join(EXAMPLES)}")
    demo.add_argument("--json", action="store_true", help="dump as JSON instead of text")
    demo.add_argument("--all", action="store_true", help="show every thread, ungrouped")
    demo.add_argument(
        "--tracked",
        action="store_true",
        help="run it with snarl.install(): recorded lock owners and wait times",
    )
    demo.add_argument(
        "--timeline",
        metavar="FILE",
        help="checkinterval only: write the demonstrations as timelines (.html or .json)",
    )
    demo.set_defaults(handler=_demo)
    run = sub.add_parser(
        "run",
        help="run a Python program under snarl: tracking, watchdog, dump on signal, agent",
        description=(
            "Run a script (or -m module) with snarl.install() in force from its first line, so"
            " every lock it creates records its owner; a hang watchdog reports deadlocks and"
            " stuck threads to stderr (or --report FILE); SIGUSR1 writes the full dump"
            " (SIGUSR2: faulthandler's, for a stuck GIL); `snarl dump PID` reaches the"
            " process through its agent.  The program's arguments, output and exit code pass"
            " through unchanged."
        ),
    )
    run.add_argument("--no-track", action="store_true", help="do not install tracking")
    run.add_argument("--lockorder", action="store_true", help="also validate lock order")
    run.add_argument("--no-watchdog", action="store_true", help="do not start the watchdog")
    run.add_argument(
        "--period", type=_seconds, default=1.0, metavar="SECONDS", help="watchdog check period"
    )
    run.add_argument(
        "--stuck",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="report a thread waiting this long (idle workers never count)",
    )
    run.add_argument("--report", metavar="FILE", help="append watchdog reports to FILE")
    run.add_argument("--json", action="store_true", help="write reports as JSON")
    run.add_argument(
        "--abort-on-deadlock",
        action="store_true",
        help="end the program with exit code 70 once a deadlock is reported",
    )
    run.add_argument(
        "--timeline",
        metavar="FILE",
        help="record a thread timeline, written at exit to FILE (.html page or .json trace)",
    )
    run.add_argument(
        "--timeline-size",
        type=_positive,
        default=100_000,
        metavar="N",
        help="events the timeline keeps (a ring buffer: the oldest are dropped, and counted)",
    )
    run.add_argument("--no-signal", action="store_true", help="no dump on SIGUSR1/SIGUSR2")
    run.add_argument("--no-agent", action="store_true", help="no agent for `snarl dump PID`")
    run.add_argument(
        "--check-interval",
        type=_interval,
        metavar="N",
        help="offer the GIL every N bytecodes, as Python 2's sys.setcheckinterval(N)",
    )
    run.add_argument(
        "--user-only",
        action="store_true",
        help="with --check-interval: count only code outside the stdlib and site-packages",
    )
    run.add_argument(
        "--deterministic",
        action="store_true",
        help=(
            "with --check-interval: run the threads one at a time, switching round-robin"
            " every N bytecodes (exactly reproducible; no watchdog, agent or signal dump)"
        ),
    )
    run.add_argument(
        "--seed", type=int, metavar="S", help="with --deterministic: a seeded order instead"
    )
    run.add_argument(
        "--switch-interval",
        type=_seconds,
        metavar="SECONDS",
        help="sys.setswitchinterval(SECONDS) for the run",
    )
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    run.add_argument("target", nargs="?", metavar="SCRIPT", help="the script to run")
    run.add_argument("args", nargs=argparse.REMAINDER, help="the program's own arguments")
    run.set_defaults(handler=_run)

    dump = sub.add_parser(
        "dump",
        help="dump the threads of another running Python process",
        description=(
            "Print every thread of process PID: through its agent (under `snarl run`, or"
            " snarl.install(agent=True)) with lock owners; else by injecting the dump with gdb;"
            " else with py-spy.  A note on stderr says which method was used and what it"
            " cannot see."
        ),
    )
    dump.add_argument("pid", metavar="PID", help="the process id")
    dump.add_argument("--json", action="store_true", help="JSON instead of text")
    dump.add_argument("--locals", action="store_true", help="include bounded reprs of locals")
    dump.add_argument("--all", action="store_true", help="show every thread, ungrouped")
    dump.add_argument(
        "--timeout", type=_seconds, default=5.0, metavar="SECONDS", help="wait this long"
    )
    dump.add_argument("--method", choices=("agent", "gdb", "py-spy"), help="use only this method")
    dump.set_defaults(handler=_dump)

    explore = sub.add_parser(
        "explore",
        help="run a test under many thread schedules; find, shrink and report a failure",
        description=(
            "Run FILE.py::TEST (a function with no arguments that starts threads, joins them"
            " and asserts) under controlled schedules until one fails: an exception, an"
            " assertion, a deadlock or lost wakeup, a livelock.  Every blocking operation is a"
            " switch point, whenever its object was made (at import, as a default argument, in"
            " the standard library), timed waits may time out at any of them, and time is"
            " virtual.  The failure is shrunk to the"
            " fewest preemptions (for --shrink-time at most) and printed with a replay command."
            "  TEST may be CLASS::METHOD: a new instance of CLASS (made without arguments)"
            " runs METHOD each time, between its setup_method and teardown_method if it has"
            " them.  On a terminal a progress line shows the rate and the time left.  Ctrl-C"
            " stops after the current schedule with a summary of what ran (during shrinking:"
            " the failure with the smallest schedule so far); a second Ctrl-C stops at once."
        ),
    )
    explore.add_argument("target", metavar="FILE.py::TEST", help="the test function")
    explore.add_argument("--strategy", choices=STRATEGY_NAMES, default="random")
    explore.add_argument("--schedules", type=_positive, default=1000, metavar="N")
    explore.add_argument("--seed", type=int, default=0, metavar="S")
    explore.add_argument(
        "--granularity",
        choices=GRANULARITY_NAMES,
        default="auto",
        help=(
            "where threads may be switched besides blocking: auto (default: half the schedules"
            " at synchronisation operations only, half also before every access to shared"
            " state), sync, shared, line, bytecode or gil"
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
    explore.add_argument("--depth", type=_positive, default=3, metavar="D", help="PCT depth")
    explore.add_argument(
        "--preemption-bound", type=int, default=2, metavar="B", help="dfs: preemption bound"
    )
    explore.add_argument(
        "--max-steps", type=_positive, default=10_000, metavar="N", help="livelock bound"
    )
    explore.add_argument(
        "--jobs", type=_positive, default=1, metavar="J", help="split schedules over processes"
    )
    explore.add_argument("--json", action="store_true", help="print the result as JSON")
    explore.add_argument("--no-shrink", action="store_true", help="report the failure as found")
    explore.add_argument(
        "--shrink-time",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="stop shrinking after this long, reporting the smallest failing schedule so far"
        " (default: %(default)g)",
    )
    explore.add_argument(
        "--timeline", metavar="FILE", help="write the failing schedule as a timeline (.html)"
    )
    explore.set_defaults(handler=_explore)

    rep = sub.add_parser(
        "replay",
        help="run a test under the schedule of a replay token",
        description=(
            "Replay the schedule TOKEN (printed by snarl explore) on FILE.py::TEST, exactly,"
            " and print the failure with its interleaving table.  Exit code 1 if it fails"
            " again, 0 if the test passes under it, 3 if the program no longer fits it."
        ),
    )
    rep.add_argument("token", metavar="TOKEN")
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
        "--timeline", metavar="FILE", help="write the replayed schedule as a timeline (.html)"
    )
    rep.set_defaults(handler=_replay)
    for name, command in sub.choices.items():
        command.epilog = _exit_codes(name)
        command.formatter_class = _Formatter
    return parser


def _interval(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (0 turns it off), not {value}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be strictly positive, not {text}")
    return value


def _demo(args: argparse.Namespace) -> int:
    if args.name not in EXAMPLES:
        print(
            f"snarl demo: unknown example {args.name!r} (choose from {', '.join(EXAMPLES)})",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN_EXAMPLE
    path = example_path(args.name)
    if args.timeline is not None:
        if args.name != "checkinterval":
            return _usage("demo", "--timeline is for the checkinterval demo")
        from .timeline import demo_timelines

        try:
            demo_timelines(args.timeline, example=path, report=print)
        except (OSError, ValueError) as exc:
            return _usage("demo", str(exc))
        print(f"timelines written to {args.timeline}")
        return 0
    argv = [str(path)] + (["--json"] if args.json else []) + (["--all"] if args.all else [])
    saved = sys.argv
    sys.argv = argv
    try:
        if args.tracked:
            from .sync import install

            with install():
                runpy.run_path(str(path), run_name="__main__")
        else:
            runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.module is None and args.target is None:
        return _usage("run", "give a script, or -m MODULE")
    if args.module is None and not Path(args.target).is_file():
        return _usage("run", f"no such script: {args.target}")
    if args.deterministic and not args.check_interval:
        return _usage("run", "--deterministic needs --check-interval N")
    if args.seed is not None and not args.deterministic:
        return _usage("run", "--seed needs --deterministic")
    if args.timeline is not None:
        if args.no_track and not args.deterministic:
            return _usage("run", "--timeline records tracked waits: it cannot go with --no-track")
        if not args.timeline.endswith((".html", ".htm", ".json")):
            return _usage("run", f"--timeline writes .html or .json, not {args.timeline}")
    rest = ([args.target] if args.module is not None and args.target else []) + args.args
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    if args.module is not None:
        argv, path0 = [args.module, *rest], None
    else:
        argv, path0 = [args.target, *rest], str(Path(args.target).resolve().parent)

    def program() -> None:
        sys.argv = argv
        if path0 is not None:
            sys.path.insert(0, path0)
            runpy.run_path(args.target, run_name="__main__")
        else:
            runpy.run_module(args.module, run_name="__main__", alter_sys=True)

    if args.deterministic:
        return _run_deterministic(args, program, saved_argv, saved_path)
    from .lifetime import run_program

    return run_program(args, program)


def _exit_code(exc: SystemExit) -> int:
    from .lifetime import exit_code

    return exit_code(exc)


def _run_deterministic(
    args: argparse.Namespace, program: Callable[[], None], argv: list[str], path: list[str]
) -> int:
    """``snarl run --check-interval N --deterministic``: the program's threads one at a time,
    switched round-robin every N bytecodes by the controlled runtime (see snarl.exploration)."""
    from .exploration.execution import Exploring, execute
    from .exploration.strategies import RoundRobinScheduler

    try:
        with Exploring("interval"):
            rt = execute(
                program,
                RoundRobinScheduler(args.seed),
                granularity="interval",
                interval=args.check_interval,
                max_steps=10**9,
                record_steps=args.timeline is not None,
            )
    finally:
        sys.argv, sys.path[:] = argv, path
    if args.timeline is not None:
        from .timeline import save, timeline_from_steps

        names = [t.name for t in rt.threads]
        save(args.timeline, [timeline_from_steps(rt.steps, names, title=str(args.target))])
        print(f"snarl run: timeline written to {args.timeline}", file=sys.stderr)
    o = rt.outcome
    if o is not None and o.kind == "exception" and o.exception is not None:
        exc = o.exception
        if isinstance(exc, SystemExit):
            return _exit_code(exc)
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)
        return 1
    if o is not None and o.kind == "blocked":
        from .exploration.blocked import explain

        print("snarl run: every thread is blocked:", file=sys.stderr)
        for line in explain(o.blocked, rt.threads).lines:
            print(line, file=sys.stderr)
        return 70
    return 0


def _usage(command: str, message: str) -> int:
    print(f"snarl {command}: error: {message} (see 'snarl {command} --help')", file=sys.stderr)
    return 2


def _dump(args: argparse.Namespace) -> int:
    from .remote import main_dump

    return main_dump(
        args.pid,
        json=args.json,
        locals=args.locals,
        all=args.all,
        timeout=args.timeout,
        method=args.method,
    )


def load_target(spec: str) -> tuple[Callable[[], Any], str]:
    """``FILE.py::TEST`` or ``FILE.py::CLASS::TEST`` → the test function and the spec; see
    :func:`snarl.exploration.target.load_target`."""
    from .exploration.target import load_target as load

    return load(spec)


def _explore(args: argparse.Namespace) -> int:
    from .errors import DidNotReproduce, Flaky
    from .exploration.progress import Progress
    from .exploration.runner import StuckOutsideControl, explore

    try:
        fn, spec = load_target(args.target)
    except ValueError as exc:
        return _usage("explore", str(exc))
    except KeyboardInterrupt:
        print("snarl explore: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if args.jobs > 1 and args.strategy == "dfs":
        return _usage("explore", "--jobs splits random and pct schedules; dfs runs in one process")
    from .exploration.execution import package_folders

    try:  # (after loading: the test file may put the package's folder on the path)
        package_folders(args.include)
    except ValueError as exc:
        return _usage("explore", str(exc))
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
    }
    try:  # the progress line (on a terminal) and the first Ctrl-C (anywhere): see Progress
        with Progress(sys.stderr if sys.stderr.isatty() and not args.json else None) as line:
            options.update(progress=line.schedules, shrink_progress=line.shrinking)
            if args.jobs > 1:
                from .exploration.jobs import explore_in_processes

                result = explore_in_processes(args.target, jobs=args.jobs, **options)
            else:
                result = explore(fn, preemption_bound=args.preemption_bound, target=spec, **options)
    except StuckOutsideControl as exc:
        print(f"snarl explore: error: {exc}", file=sys.stderr)
        return EXIT_STUCK
    except (Flaky, DidNotReproduce) as exc:  # a failure that did not replay
        print(
            f"snarl explore: error: the test is not deterministic: {exc}. {Flaky.help}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C: nothing to summarise
        print("snarl explore: interrupted", file=sys.stderr)
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
        print(f"snarl {command}: no failing schedule, so no timeline written", file=sys.stderr)
        return
    from .timeline import save, timeline_from_failure

    save(path, [timeline_from_failure(failure)])
    print(f"snarl {command}: timeline written to {path}", file=sys.stderr)


def _replay(args: argparse.Namespace) -> int:
    from .errors import DidNotReproduce, InvalidToken
    from .exploration.runner import StuckOutsideControl, replay

    try:
        fn, spec = load_target(args.target)
    except ValueError as exc:
        return _usage("replay", str(exc))
    try:
        failure = replay(fn, args.token, target=spec, include=args.include)
    except InvalidToken as exc:
        return _usage("replay", f"invalid replay token: {exc}")
    except DidNotReproduce as exc:
        print(f"snarl replay: did not reproduce: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except StuckOutsideControl as exc:
        print(f"snarl replay: error: {exc}", file=sys.stderr)
        return EXIT_STUCK
    if args.json:
        print(json.dumps({"failed": failure is not None, **(failure.to_dict() if failure else {})}))
    elif failure is None:
        print("The test passed under this schedule.")
    else:
        print(failure.report)
    _write_timeline("replay", args.timeline, failure)
    return 1 if failure is not None else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except BrokenPipeError:  # the reader went away (`snarl explore ... | head`): not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return 1
