"""``@snarl.interleavings(...)``: turn a threaded test into an exploration.

The decorated function is what pytest (or any caller) runs; each call explores the original
under the given options and raises :class:`~snarl.exploration.runner.InterleavingFailure` (an
``AssertionError``) with the shrunk report and its replay command when a schedule fails.
Fixtures and arguments pass through: each schedule calls the original with them.
``snarl explore FILE.py::TEST`` and ``snarl replay`` see through the decorator (the original
is ``__snarl_test__``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from .runner import GranularityName, InterleavingFailure, StrategyName, explore, source_file

__all__ = ["interleavings"]

F = TypeVar("F", bound=Callable[..., Any])


def interleavings(
    schedules: int = 500,
    *,
    strategy: StrategyName = "random",
    seed: int = 0,
    granularity: GranularityName = "auto",
    **options: Any,
) -> Callable[[F], F]:
    """Decorate a test so that calling it explores ``schedules`` schedules of it.

    The options are :func:`snarl.exploration`'s.  The environment variable ``SNARL_SEED``
    overrides ``seed`` (to look further without editing the test).
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> None:
            test = functools.partial(fn, *args, **kwargs) if args or kwargs else fn
            name = getattr(fn, "__name__", "test")
            where = f"{source_file(fn)}::{name}"
            result = explore(
                _named(test, name),
                strategy=strategy,
                schedules=schedules,
                seed=_seed(seed),
                granularity=granularity,
                target=where,
                **options,
            )
            if result.failure is not None:
                raise InterleavingFailure(result.failure)

        run.__snarl_test__ = fn  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return decorate


def _seed(default: int) -> int:
    """``SNARL_SEED`` if set (an integer, else a one-line ValueError naming it), or ``default``."""
    text = os.environ.get("SNARL_SEED")
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"snarl: SNARL_SEED must be an integer, not {text!r}") from None


def _named(test: Callable[[], Any], name: str) -> Callable[[], Any]:
    if getattr(test, "__name__", None) == name:
        return test

    def call() -> Any:
        return test()

    call.__name__ = name
    return call
