"""What gdb makes the target run: a bootstrap that fetches snarl's snapshot code from the client.

The bootstrap (:data:`SOURCE`) is compiled in the target by ``PyRun_String`` with a fresh
globals dict (so its builtins are the interpreter's own, and nothing the program defines in
``__main__``, such as an ``exec`` of its own, is seen).  It connects to the client's abstract
Unix socket, receives :func:`bundle` (the source of every module of the dumper's own snarl,
read from the dumper's installation, never from a file the target's user can write), and takes
the snapshot:

* with the program's own snarl when it has one in ``sys.modules`` (it alone knows the owners of
  the locks it tracks; it is code the program already runs, and nothing is imported through
  ``sys.path`` for it);
* otherwise with the bundle, loaded by a finder placed first on ``sys.meta_path`` that answers
  only this thread's imports: ``snarl*`` from the bundle, standard-library names from the
  interpreter's own standard-library directories, anything else refused.  A ``snarl.py`` or a
  ``snarl/`` directory on the program's path is never looked at.  The bundle's modules are
  removed from ``sys.modules`` afterwards (standard-library modules it needed stay imported).

The reply is the JSON of ``{"snapshot": ...}`` (or ``unsupported``, ``unavailable``, ``error``)
on the same connection; the client treats it as untrusted data.
"""

from __future__ import annotations

import marshal
from functools import cache
from pathlib import Path

__all__ = ["BUNDLE_LIMIT", "SOURCE", "bundle"]

BUNDLE_LIMIT = 1 << 24
"""The largest bundle the bootstrap accepts, in bytes."""

# Conservative syntax: a process whose version could not be read beforehand gets an answer
# ("unsupported"), not a SyntaxError.
SOURCE = r"""
def _snarl_boot(name, with_locals, timeout, limit):
    # The globals are a fresh dict and the builtins the interpreter's own: no name of the
    # program's __main__ is seen here.  Modules come from sys.modules, the stdlib directories
    # and the bundle the client sends; never from sys.path.
    sys = __import__("sys")
    mods = sys.modules
    get_ident = mods["_thread"].get_ident
    ident = get_ident()
    bootstrap = mods["_frozen_importlib"]
    external = mods["_frozen_importlib_external"]
    path = mods["posixpath"]
    stdlib = getattr(sys, "_stdlib_dir", None) or path.dirname(mods["os"].__file__)
    dirs = [stdlib, path.join(stdlib, "lib-dynload")]
    dirs.append(
        path.join(sys.base_exec_prefix, getattr(sys, "platlibdir", "lib"),
                  "python%d.%d" % sys.version_info[:2], "lib-dynload")
    )
    names = getattr(sys, "stdlib_module_names", ())
    bundle = {}
    ours = []

    class Finder:
        def find_spec(self, fullname, paths=None, target=None):
            if get_ident() != ident:
                return None  # another thread's import: not ours to decide
            if fullname in bundle:
                is_package, _, origin = bundle[fullname]
                spec = bootstrap.ModuleSpec(fullname, self, origin=origin, is_package=is_package)
                spec.has_location = True
                return spec
            if fullname.partition(".")[0] in names or fullname.startswith("_sysconfigdata_"):
                for finder in (bootstrap.BuiltinImporter, bootstrap.FrozenImporter):
                    spec = finder.find_spec(fullname)
                    if spec is not None:
                        return spec
                spec = external.PathFinder.find_spec(fullname, paths or dirs)
                if spec is not None:
                    return spec
            raise ModuleNotFoundError(
                "snarl's dump imports only snarl and the stdlib, not " + fullname, name=fullname
            )

        def create_module(self, spec):
            return None

        def exec_module(self, module):
            ours.append(module.__name__)
            _, source, origin = bundle[module.__name__]
            exec(compile(source, origin, "exec"), module.__dict__)

    finder = Finder()

    def stdlib_import(module):
        if module not in mods:
            sys.meta_path.insert(0, finder)
            try:
                __import__(module)
            finally:
                sys.meta_path.remove(finder)
        return mods[module]

    try:
        _socket = stdlib_import("_socket")
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect("\0" + name)
    except BaseException:
        return  # the client gave up (or cannot be reached): do nothing at all
    try:
        head = b""
        while b"\n" not in head:
            chunk = sock.recv(64)
            if not chunk or len(head) > 64:
                return
            head += chunk
        size, _, data = head.partition(b"\n")
        size = int(size)
        if size > limit:
            return
        chunks = [data]
        got = len(data)
        while got < size:
            chunk = sock.recv(min(1 << 20, size - got))
            if not chunk:
                return
            chunks.append(chunk)
            got += len(chunk)
        bundle.update(mods["marshal"].loads(b"".join(chunks)))
        json = stdlib_import("json")
        try:
            if not (3, 10) <= sys.version_info[:2] <= (3, 13):
                answer = {"unsupported": "%d.%d" % sys.version_info[:2]}
            elif "threading" not in mods and sys.version_info < (3, 13):
                # Imported first from this thread, threading would take it for the main one.
                answer = {
                    "unavailable": "the process never imported threading (snarl would import"
                    " it from another thread)"
                }
            elif "snarl.remote.agent" in mods:  # the program's own snarl, which tracks its locks
                data = mods["snarl.remote.agent"].snapshot_dict(with_locals)
                answer = {"snapshot": data, "own": True}
            elif "snarl" in mods:  # the program's own snarl, agent not loaded
                data = mods["snarl"].snapshot(locals=with_locals).to_dict()
                data["threads"] = [t for t in data["threads"] if not t["current"]]
                answer = {"snapshot": data, "own": True}
            else:
                sys.meta_path.insert(0, finder)
                try:
                    __import__("snarl.threaddump.collect")
                    data = mods["snarl.threaddump.collect"].snapshot(locals=with_locals)
                    data = data.to_dict()
                finally:
                    sys.meta_path.remove(finder)
                    for module in ours:  # the process is left without them
                        mods.pop(module, None)
                data["threads"] = [t for t in data["threads"] if not t["current"]]
                answer = {"snapshot": data, "own": False}
        except BaseException as exc:
            answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
        data = json.dumps(answer).encode()
        while data:
            data = data[sock.send(data):]
    except BaseException:
        pass
    finally:
        sock.close()
"""


@cache
def bundle() -> bytes:
    """The marshalled ``{module name: (is package, source, path)}`` of this snarl package."""
    root = Path(__file__).resolve().parents[1]
    modules: dict[str, tuple[bool, str, str]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = (is_package, path.read_text(encoding="utf-8"), str(path))
    return marshal.dumps(modules, 4)
