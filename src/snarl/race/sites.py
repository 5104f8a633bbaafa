"""The table of access sites: what a report says about an access, decided when code is rewritten.

Every instrumented access in rewritten code passes a small int, its index in :data:`SITES`, so
the hot path never looks at frames: the file, line, function, source text and kind of location
of the access are known from the rewrite.  The table only grows (one entry per access
expression of each rewritten module, not per execution).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["SITES", "Site", "add_site"]


class Site(NamedTuple):
    """One access expression in rewritten source."""

    filename: str
    lineno: int
    function: str
    text: str  # the expression as the code names it: "self.balance", "cache[key]"
    kind: str  # "attribute", "global", "cell", "item", "structure", "generator"
    write: bool
    ignored: bool  # the line carries "# snarl: ignore-race"


SITES: list[Site] = [Site("<none>", 0, "", "", "", False, True)]  # index 0: no site


def add_site(site: Site) -> int:
    """Append ``site``; return its index."""
    SITES.append(site)
    return len(SITES) - 1
