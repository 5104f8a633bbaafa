"""Rewrite a user module's AST so that its shared accesses call the checks of
:mod:`snarl.race.shadow` (as pytest rewrites ``assert``).

Each access becomes a call that checks it and hands back the object, so the access itself still
runs natively and evaluates every operand once, in Python's order:

==============================  =============================================================
``o.a`` / ``o.a = v``           ``_snarl_ra(o, 'a', S).a`` / ``_snarl_wa(o, 'a', S).a = v``
``o[k]`` / ``o[k] = v``         ``_snarl_ri(o, k, S)[k]`` / ``_snarl_wi(o, k, S)[k] = v``
                                (``k`` a name or constant; otherwise ``_snarl_gi(o, k, S)``
                                reads, and a store binds ``k`` once with ``:=``)
``o[i:j]``                      ``_snarl_rs(o, S)[i:j]`` (a slice reads or writes the structure)
``o.append(x)``                 ``_snarl_rm(o, 'append', S).append(x)`` (container methods)
``len(o)``, ``k in o``, ``for``  ``len(_snarl_rs(o, S))``, ``k in _snarl_rs(o, S)``, ...
``next(g)``                     ``next(_snarl_rx(g, S))`` (a generator's execution)
``x`` (a shared global)         ``_snarl_ra(_snarl_mod, 'x', S) and x``; stores add a statement
                                ``_snarl_wa(_snarl_mod, 'x', S)`` next to the assignment
``x`` (a ``nonlocal`` cell)     the same against a token ``_snarl_c_x`` made where the cell is
==============================  =============================================================

``S`` is the access's index in :data:`snarl.race.sites.SITES`.  Local variables are never
checked (a thread's own), nor annotations.  Globals are checked when some function declares
them ``global`` or the module binds them more than once; a name bound once (a ``def``, a class,
an import, a constant) cannot race.  Closure cells are checked when a nested function declares
them ``nonlocal``.  A line carrying ``# snarl: ignore-race`` still checks, but its reports are
suppressed.
"""

from __future__ import annotations

import ast
import copy
import sys
from typing import Any

from . import hooks
from .scopes import (
    _METHODS,
    _READERS,
    _bindings,
    _confined,
    _mark_redundant,
    _nonlocals_within,
    _params,
    _Scope,
    _tracked_globals,
)
from .sites import Site, add_site

__all__ = ["IGNORE", "compile_source", "namespace", "rewrite"]

IGNORE = "snarl: ignore-race"


class CellKey:
    """The identity of one closure cell's variable for the shadow memory (weakly referenced,
    so the shadow goes when the closure does)."""

    __slots__ = ("__weakref__",)


def namespace(module_globals: dict[str, Any], module: Any) -> None:
    """Put the names rewritten code calls into ``module_globals``."""
    hooks.bind(module_globals)
    module_globals["_snarl_mod"] = module
    module_globals["_snarl_cellkey"] = CellKey


def compile_source(source: str | bytes, filename: str) -> Any:
    """The code object of ``source`` with its accesses instrumented."""
    tree = ast.parse(source, filename)
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    return compile(rewrite(tree, text, filename), filename, "exec", dont_inherit=True)


def rewrite(tree: ast.Module, source: str, filename: str) -> ast.Module:
    """Instrument ``tree`` (the module parsed from ``source``) in place; return it."""
    ignored = {i for i, line in enumerate(source.splitlines(), 1) if IGNORE in line}
    tracked = _tracked_globals(tree)
    _Rewriter(filename, ignored, tracked).visit(tree)
    at = 1 if tree.body and _is_docstring(tree.body[0]) else 0
    while at < len(tree.body) and _is_future(tree.body[at]):
        at += 1
    tree.body[at:at] = ast.parse(
        "import snarl.race.rewrite as _snarl_rw\n_snarl_rw.bind(globals())\n"
    ).body
    ast.fix_missing_locations(tree)
    for node in ast.walk(tree):  # nodes made by others' rewriting (pytest's) may lack ends
        end = getattr(node, "end_lineno", None)
        if end is not None and end < node.lineno:  # type: ignore[attr-defined]
            node.end_lineno = node.lineno  # type: ignore[attr-defined]
            node.end_col_offset = node.col_offset  # type: ignore[attr-defined]
    return tree


def bind(module_globals: dict[str, Any]) -> None:
    """The prologue of rewritten code: bind its names in ``module_globals`` (the module object
    is the key of its globals, as ``module.name`` from elsewhere names them)."""
    mod = sys.modules.get(module_globals.get("__name__", ""))
    if mod is None or getattr(mod, "__dict__", None) is not module_globals:
        mod = CellKey()
    namespace(module_globals, mod)


# -- the rewriter ---------------------------------------------------------------------------
class _Rewriter(ast.NodeTransformer):
    def __init__(self, filename: str, ignored: set[int], tracked: frozenset[str]) -> None:
        self.filename = filename
        self.ignored = ignored
        self.tracked = tracked
        self.scope = _Scope("module", "<module>", None)
        self.temps = 0

    # helpers
    def site(self, node: ast.AST, kind: str, write: bool, text: str | None = None) -> ast.AST:
        if text is None:
            try:
                text = ast.unparse(node)
            except Exception:  # pragma: no cover - unparse handles every node we pass
                text = "?"
        if len(text) > 60:
            text = text[:57] + "..."
        line = getattr(node, "lineno", 0)
        index = add_site(
            Site(self.filename, line, self.scope.name, text, kind, write, line in self.ignored)
        )
        return ast.Constant(index)

    def call(self, hook: str, node: ast.AST, *args: ast.AST) -> ast.Call:
        call = ast.Call(ast.Name(f"_snarl_{hook}", ast.Load()), [*args], [])
        return ast.copy_location(call, node)

    def resolve(self, name: str) -> str | None:
        """The token variable that names location ``name`` here, or None (a local)."""
        s = self.scope
        if s.kind == "module":
            return "_snarl_mod" if name in self.tracked else None
        if name in s.glob:
            return "_snarl_mod"
        if name in s.cells:  # visible, or owned here (a local some nested function rebinds)
            return s.cells[name]
        if name in s.nonloc:
            return None  # a nonlocal of a function not rewritten here
        if name in s.locals:
            return None
        return "_snarl_mod" if name in self.tracked else None

    # scopes
    def _enter(self, node: Any, kind: str, name: str, body: list[ast.AST]) -> _Scope:
        scope = _Scope(kind, name, self.scope)
        bound, scope.glob, scope.nonloc = _bindings(body)
        scope.locals = set(bound) - scope.glob - scope.nonloc
        if kind in ("function", "lambda"):
            scope.locals |= _params(node.args)
        for local in scope.locals:
            scope.cells.pop(local, None)
        return scope

    def visit_FunctionDef(self, node: Any) -> Any:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [d if d is None else self.visit(d) for d in node.args.kw_defaults]
        outer = self.scope
        scope = self._enter(node, "function", node.name, node.body)
        owned = sorted(
            n
            for n in scope.locals
            if any(n in _nonlocals_within(s) for s in node.body if isinstance(s, ast.AST))
        )
        for n in owned:
            scope.cells[n] = f"_snarl_c_{n}"
        scope.confined = _confined(node)
        self.scope = scope
        try:
            body = self._body(node.body)
        finally:
            self.scope = outer
        inits = [
            ast.Assign(
                [ast.Name(f"_snarl_c_{n}", ast.Store())],
                ast.Call(ast.Name("_snarl_cellkey", ast.Load()), [], []),
                lineno=node.lineno,
            )
            for n in owned
        ]
        doc = 1 if body and _is_docstring(body[0]) else 0
        node.body = body[:doc] + inits + body[doc:]
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        outer = self.scope
        self.scope = self._enter(node, "lambda", outer.name, [node.body])
        try:
            node.body = self.visit(node.body)
        finally:
            self.scope = outer
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        node.bases = [self.visit(b) for b in node.bases]
        outer = self.scope
        self.scope = self._enter(node, "class", node.name, node.body)
        try:
            node.body = self._body(node.body)
        finally:
            self.scope = outer
        return node

    def _comp(self, node: Any) -> Any:
        first = node.generators[0]
        first.iter = self._iter(self.visit(first.iter))  # evaluated in the enclosing scope
        outer = self.scope
        scope = _Scope("comp", outer.name, outer)
        scope.cells = dict(outer.cells)
        scope.glob = set(outer.glob) if outer.kind != "module" else set()
        scope.locals = set(outer.locals) if outer.kind == "function" else set()
        for gen in node.generators:
            for sub in ast.walk(gen.target):
                if isinstance(sub, ast.Name):
                    scope.locals.add(sub.id)
                    scope.cells.pop(sub.id, None)
        if outer.kind == "module":
            scope.kind = "comp-module"
        self.scope = scope
        try:
            for i, gen in enumerate(node.generators):
                if i:
                    gen.iter = self._iter(self.visit(gen.iter))
                gen.ifs = [self.visit(c) for c in gen.ifs]
            for field in ("elt", "key", "value"):
                if hasattr(node, field):
                    setattr(node, field, self.visit(getattr(node, field)))
        finally:
            self.scope = outer
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        _mark_redundant(body)
        out: list[ast.stmt] = []
        for stmt in body:
            new = self.visit(stmt)
            if isinstance(new, list):
                out.extend(new)
            elif new is not None:
                out.append(new)
        return out

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field, old in ast.iter_fields(node):
            if isinstance(old, list) and old and isinstance(old[0], ast.stmt):
                setattr(node, field, self._body(old))
            elif isinstance(old, list):
                setattr(node, field, [self.visit(v) if isinstance(v, ast.AST) else v for v in old])
            elif isinstance(old, ast.AST):
                setattr(node, field, self.visit(old))
        return node

    # statements binding names
    def _name_writes(self, targets: list[ast.AST], stmt: ast.AST) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Name):
                    token = self.resolve(sub.id)
                    if token is not None:
                        kind = "global" if token == "_snarl_mod" else "cell"
                        site = self.site(sub, kind, True, sub.id)
                        call = self.call("wa", stmt, ast.Name(token, ast.Load()),
                                         ast.Constant(sub.id), site)  # fmt: skip
                        out.append(ast.copy_location(ast.Expr(call), stmt))
        return out

    def visit_Assign(self, node: ast.Assign) -> Any:
        writes = self._name_writes(node.targets, node)
        self.generic_visit(node)
        return [node, *writes] if writes else node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        if node.value is None:
            return node
        writes = self._name_writes([node.target], node)
        node.target = self.visit(node.target)
        node.value = self.visit(node.value)
        return [node, *writes] if writes else node

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        writes = self._name_writes([node.target], node)
        self.generic_visit(node)
        return [*writes, node] if writes else node

    def visit_Delete(self, node: ast.Delete) -> Any:
        writes = self._name_writes(node.targets, node)
        self.generic_visit(node)
        return [*writes, node] if writes else node

    def visit_For(self, node: Any) -> Any:
        confined = self.confined(node.iter) or (
            isinstance(node.iter, ast.Call)
            and isinstance(node.iter.func, ast.Name)
            and node.iter.func.id == "range"
            and self.resolve("range") is None
            and "range" not in self.scope.locals
        )  # a new range object: immutable, and no one else's
        self.generic_visit(node)
        if not confined:
            node.iter = self._iter(node.iter)
        return node

    def _iter(self, node: ast.AST) -> ast.AST:
        return self.call("rs", node, node, self.site(node, "structure", False))

    # expressions
    def visit_Name(self, node: ast.Name) -> Any:
        if not isinstance(node.ctx, ast.Load):
            return node
        token = self.resolve(node.id)
        if token is None:
            return node
        kind = "global" if token == "_snarl_mod" else "cell"
        site = self.site(node, kind, False, node.id)
        check = self.call("ra", node, ast.Name(token, ast.Load()), ast.Constant(node.id), site)
        return ast.copy_location(ast.BoolOp(ast.And(), [check, node]), node)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        if getattr(node, "_snarl_skip", False):
            node.value = self.visit(node.value)
            return node
        write = not isinstance(node.ctx, ast.Load)
        site = self.site(node, "attribute", write)
        node.value = self.visit(node.value)
        node.value = self.call("wa" if write else "ra", node, node.value,
                               ast.Constant(node.attr), site)  # fmt: skip
        return node

    def confined(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.scope.confined

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        if getattr(node, "_snarl_skip", False):
            return node  # base and key are plain names or constants: nothing to rewrite
        if self.confined(node.value):
            node.slice = self.visit(node.slice)
            return node
        write = not isinstance(node.ctx, ast.Load)
        text_site = self.site(node, "item", write)
        node.value = self.visit(node.value)
        node.slice = self.visit(node.slice)
        key = node.slice
        if isinstance(key, ast.Slice):
            node.value = self.call("ws" if write else "rs", node, node.value, text_site)
        elif _simple(key):
            node.value = self.call("wi" if write else "ri", node, node.value,
                                   copy.deepcopy(key), text_site)  # fmt: skip
        elif not write:
            return self.call("gi", node, node.value, key, text_site)
        elif self.scope.kind in ("function", "module"):
            self.temps += 1
            temp = f"_snarl_k{self.temps}"
            bind = ast.NamedExpr(ast.Name(temp, ast.Store()), key)
            node.value = self.call("wi", node, node.value, bind, text_site)
            node.slice = ast.Name(temp, ast.Load())
        else:
            node.value = self.call("ws", node, node.value, text_site)
        return node

    def visit_Call(self, node: ast.Call) -> Any:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.ctx, ast.Load):
            text = f"{_unparse(func.value)}.{func.attr}()"
            confined = self.confined(func.value)
            func.value = self.visit(func.value)
            if func.attr in _METHODS and not confined:
                site = self.site(node, "structure", False, text)
                func.value = self.call("rm", node, func.value, ast.Constant(func.attr), site)
        else:
            node.func = self.visit(func)
        node.args = [self.visit(a) for a in node.args]
        node.keywords = [self.visit(k) for k in node.keywords]
        if (
            isinstance(func, ast.Name)
            and node.args
            and not isinstance(node.args[0], ast.Starred)
            and self.resolve(func.id) is None
            and func.id not in self.scope.locals
        ):
            if func.id in _READERS and not self.confined(node.args[0]):
                arg = node.args[0]
                site = self.site(arg, "structure", False)
                node.args[0] = self.call("rs", arg, arg, site)
            elif func.id == "next":
                arg = node.args[0]
                site = self.site(arg, "generator", True)
                node.args[0] = self.call("rx", arg, arg, site)
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            if isinstance(op, ast.In | ast.NotIn) and not self.confined(node.comparators[i]):
                right = node.comparators[i]
                node.comparators[i] = self.call("rs", right, right,
                                                self.site(right, "structure", False))  # fmt: skip
        return node

    def visit_arg(self, node: ast.arg) -> Any:
        return node  # annotations are not accesses

    def visit_Global(self, node: ast.Global) -> Any:
        return node


def _simple(node: ast.AST) -> bool:
    if isinstance(node, ast.Name | ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.Attribute):
        return _simple(node.value) and not isinstance(node.value, ast.Call)
    if isinstance(node, ast.Tuple):
        return all(_simple(e) for e in node.elts)
    return False


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except Exception:  # pragma: no cover
        return "?"


def _is_future(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
