"""A snapshot from raw frames: what a dump shows when frame objects cannot be had safely.

While subinterpreters run on CPython 3.12-3.13, :mod:`snarl.frames` reads stacks through
faulthandler (see there): file, line and function per frame, no frame object.  This module
turns such stacks into ThreadInfo records: names from the thread table (a ``dict.copy()``, as
in collect), states ``unknown`` (no wait inference without frames), no locals, and the
reading's note, which the snapshot carries so that no report reads as an all-clear.
"""

from __future__ import annotations

import linecache
import os
import sys
from types import FunctionType, MethodType
from typing import Any

from ..frames import RawFrame
from .model import FrameInfo, ThreadInfo
from .safe import instance_dict

__all__ = ["is_snarl_service", "raw_threads"]

_SNARL_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _is_snarl_file(filename: str) -> bool:
    return filename.startswith(_SNARL_DIR)


def is_snarl_service(target: Any) -> bool:
    """Whether a Thread's target is snarl's own code (its watchdog, its agent).  Read through
    the function's own slots only: a user's callable object is never asked anything."""
    if type(target) is MethodType:
        target = target.__func__
    if type(target) is not FunctionType:
        return False
    name = target.__module__
    return type(name) is str and (name == "snarl" or name.startswith("snarl."))


def raw_threads(stacks: dict[int, tuple[RawFrame, ...]], current: int) -> list[ThreadInfo]:
    """ThreadInfo per stack: main thread first, then in the order threading registered them."""
    threading = sys.modules.get("threading")
    active: dict[int, Any] = threading._active.copy() if threading is not None else {}
    main = getattr(threading, "_main_thread", None)
    dummy_cls = getattr(threading, "_DummyThread", None)
    order = {ident: i for i, ident in enumerate(active)}
    main_fields = instance_dict(main) if main is not None else None
    main_ident = main_fields.get("_ident") if main_fields else None
    infos = []
    for ident in sorted(stacks, key=lambda i: (i != main_ident, order.get(i, len(order)), i)):
        obj = active.get(ident)
        fields = (instance_dict(obj) if obj is not None else None) or {}
        if is_snarl_service(fields.get("_target")):
            continue
        frames = tuple(
            FrameInfo(f.filename, f.lineno, f.function, _source(f.filename, f.lineno))
            for f in stacks[ident]
            if not _is_snarl_file(f.filename)
        )
        name = fields.get("_name")
        infos.append(
            ThreadInfo(
                name if type(name) is str else None,
                ident,
                fields.get("_native_id"),
                fields.get("_daemonic"),
                obj is not None and obj is main,
                ident == current,
                "_thread" if obj is None else "dummy" if type(obj) is dummy_cls else "threading",
                "running" if ident == current else "unknown",
                None,
                frames,
            )
        )
    return infos


def _source(filename: str, lineno: int | None) -> str:
    return linecache.getline(filename, lineno).strip() if lineno else ""
