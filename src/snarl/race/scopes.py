"""Static analysis for the rewrite: scopes, which names are shared, and checks to leave out.

* **Scopes**: the names each function, class, lambda or comprehension binds, declares
  ``global`` or ``nonlocal`` (:func:`_bindings`), and which module globals are worth checking
  (:func:`_tracked_globals`: declared ``global`` somewhere, or bound more than once).
* **Confined objects** (:func:`_confined`): locals that no other thread can reach.
* **Redundant checks** (:func:`_mark_redundant`): second checks of one location that cannot
  find anything the first did not.
"""

from __future__ import annotations

import ast
from typing import Any

from . import kinds

_METHODS = frozenset(kinds.METHODS)
_READERS = frozenset(
    {"len", "list", "tuple", "sorted", "set", "frozenset", "dict", "sum", "min", "max", "any",
     "all", "enumerate", "iter", "reversed"}
)  # fmt: skip
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (*_FUNCS, ast.ClassDef, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


# -- scope analysis -------------------------------------------------------------------------
def _walk_scope(body: list[ast.AST]) -> Any:
    """The nodes of one scope, not descending into nested scopes (whose names, decorators
    and defaults belong to this one)."""
    todo = list(body)
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, _SCOPES):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                todo.extend(node.decorator_list)
            if isinstance(node, _FUNCS):
                todo.extend(node.args.defaults)
                todo.extend(d for d in node.args.kw_defaults if d is not None)
            if isinstance(node, ast.ClassDef):
                todo.extend(node.bases)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _bindings(body: list[ast.AST]) -> tuple[list[str], set[str], set[str]]:
    """(names bound, in order with repeats; declared global; declared nonlocal)."""
    bound: list[str] = []
    glob: set[str] = set()
    nonloc: set[str] = set()
    for node in _walk_scope(body):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.append(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.append(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.extend((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Global):
            glob.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            nonloc.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.append(node.name)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bound.append(node.target.id)
    return bound, glob, nonloc


def _tracked_globals(tree: ast.Module) -> frozenset[str]:
    bound, _, _ = _bindings(tree.body)
    names = {n for n in bound if bound.count(n) > 1}
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    return frozenset(names)


def _params(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    return {a.arg for a in every}


class _Scope:
    def __init__(self, kind: str, name: str, parent: _Scope | None) -> None:
        self.kind = kind
        self.name = name
        self.parent = parent
        self.locals: set[str] = set()
        self.glob: set[str] = set()
        self.nonloc: set[str] = set()
        self.cells: dict[str, str] = {}  # visible cell name -> its token's variable
        self.confined: frozenset[str] = frozenset()  # locals no other thread can reach
        if (parent is not None and parent.kind != "class") or (
            parent is not None and parent.parent is not None
        ):
            self.cells = dict(parent.cells)


def _nonlocals_within(node: ast.AST) -> set[str]:
    return {n for sub in ast.walk(node) if isinstance(sub, ast.Nonlocal) for n in sub.names}


# -- objects confined to one frame ---------------------------------------------------------
# A local bound only to a new container literal (``{}``, ``[]``, ``set()``, a comprehension)
# and used only as the container of subscripts, container-method calls, ``len()``-like calls,
# ``in`` and ``for`` never leaves its frame, so no other thread can reach it: its accesses are
# not checked.  Anything else (passing it, returning, storing, aliasing, a closure) lets it
# escape, and it is checked as usual.
_LITERALS = (ast.Dict, ast.List, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)
_FACTORIES = frozenset({"dict", "list", "set", "bytearray", "deque"})


def _is_new_container(node: ast.AST) -> bool:
    if isinstance(node, _LITERALS):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FACTORIES
        and not node.args
        and not node.keywords
    )


def _confined(fn: Any) -> frozenset[str]:
    own = list(_walk_scope(fn.body))
    parent: dict[int, ast.AST] = {}
    for node in own:
        for child in ast.iter_child_nodes(node):
            parent[id(child)] = node
    inner = {
        n.id
        for node in own
        if isinstance(node, _SCOPES)
        for n in ast.walk(node)
        if isinstance(n, ast.Name)
    }
    stores: dict[str, bool] = {}
    for node in own:
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            up = parent.get(id(node))
            ok = (
                isinstance(up, ast.Assign)
                and len(up.targets) == 1
                and up.targets[0] is node
                and _is_new_container(up.value)
            ) or (
                isinstance(up, ast.AnnAssign)
                and up.value is not None
                and _is_new_container(up.value)
            )
            stores[node.id] = stores.get(node.id, True) and ok
    names = {n for n, ok in stores.items() if ok} - _params(fn.args) - inner
    for node in own:
        if not (isinstance(node, ast.Name) and node.id in names):
            continue
        if not isinstance(node.ctx, ast.Load):
            continue
        up = parent.get(id(node))
        if isinstance(up, ast.Subscript) and up.value is node:
            continue
        if isinstance(up, ast.Attribute) and up.value is node and up.attr in _METHODS:
            call = parent.get(id(up))
            if isinstance(call, ast.Call) and call.func is up:
                continue
        if isinstance(up, ast.Call) and isinstance(up.func, ast.Name) and up.func.id in _READERS:
            continue
        if isinstance(up, ast.Compare) and node in up.comparators:
            continue
        if isinstance(up, ast.For) and up.iter is node:
            continue
        names.discard(node.id)
    return frozenset(names)


# -- redundant checks ----------------------------------------------------------------------
# Within a run of consecutive simple statements that call nothing (no call, await, yield or
# lambda: nothing can synchronise between them), a second check of the same location through
# the same local name is redundant: the thread's epoch has not changed, so it would find
# exactly what the first found.  A read followed, in the same statement, by a write of the
# same location is covered by the write's check (a write is checked against both reads and
# writes).  Skipping a check never adds a report; it only drops one the kept check makes.
_SIMPLE_STMTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.Pass)
_SYNC_POINTS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda, ast.NamedExpr,
                ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)  # fmt: skip


def _location_key(node: ast.AST) -> tuple[str, str] | None:
    """(local name, attribute or item) for ``name.attr`` and ``name[const_or_name]``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return (node.value.id, "." + node.attr)
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and isinstance(node.slice, ast.Name | ast.Constant)
    ):
        key = node.slice
        return (node.value.id, "[" + (key.id if isinstance(key, ast.Name) else repr(key.value)))
    return None


def _mark_redundant(body: list[ast.stmt]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for stmt in body:
        if not isinstance(stmt, _SIMPLE_STMTS) or any(
            isinstance(n, _SYNC_POINTS) for n in ast.walk(stmt)
        ):
            seen = {}
            continue
        reads, writes, rebound = [], [], set()
        for node in ast.walk(stmt):
            key = _location_key(node)
            if key is not None:
                (reads if isinstance(node.ctx, ast.Load) else writes).append((key, node))
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                rebound.add(node.id)
        if isinstance(stmt, ast.AugAssign):  # the target is read and written: one write
            reads = [(k, n) for k, n in reads if n is not stmt.target]
        written = {k for k, _ in writes}
        for key, node in reads:
            if key in seen or key in written:
                node._snarl_skip = True  # type: ignore[attr-defined]
            seen.setdefault(key, "r")
        for key, node in writes:
            if seen.get(key) == "w":
                node._snarl_skip = True  # type: ignore[attr-defined]
            seen[key] = "w"
        if rebound:  # a name rebound: its locations are others now; a key naming it too
            seen = {k: v for k, v in seen.items() if k[0] not in rebound
                    and k[1][1:] not in rebound}  # fmt: skip
