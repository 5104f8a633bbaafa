"""``snarl.threaddump.safe``: reading user objects without running user code."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from snarl.threaddump.bytecode import Expr
from snarl.threaddump.reprs import bounded_repr
from snarl.threaddump.safe import (
    UNKNOWN,
    forget,
    get_attr,
    instance_dict,
    resolve,
    type_name,
)


@pytest.fixture(autouse=True)
def fresh_plans():
    forget()  # lookup plans are per snapshot; start each test without any
    yield
    forget()


class Tripwire:
    """Counts calls of any code snarl must not run."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError("snarl ran user code")


def test_plain_instance_and_class_attributes():
    class Plain:
        shared = threading.Lock()

        def method(self) -> None:
            pass

    p = Plain()
    p.own = 42
    assert get_attr(p, "own") == 42
    assert get_attr(p, "shared") is Plain.shared
    assert get_attr(p, "missing") is UNKNOWN
    assert get_attr(p, "method") is UNKNOWN  # binding a method is not needed for a wait


def test_instance_value_shadows_a_class_value():
    class Plain:
        lock = "class"

    p = Plain()
    p.lock = "instance"
    assert get_attr(p, "lock") == "instance"


def test_slots_members():
    class Slotted:
        __slots__ = ("lock", "unset")

    s = Slotted()
    s.lock = threading.Lock()
    assert get_attr(s, "lock") is s.lock
    assert get_attr(s, "unset") is UNKNOWN
    assert instance_dict(s) is None


def test_modules_and_classes():
    mod = types.ModuleType("fake")
    mod.blocker = threading.Lock()
    assert get_attr(mod, "blocker") is mod.blocker
    assert get_attr(threading, "Lock") is threading.Lock

    class Holder:
        lock = threading.Lock()

    assert get_attr(Holder, "lock") is Holder.lock
    assert get_attr(Holder, "missing") is UNKNOWN


def test_property_is_not_called():
    trip = Tripwire()

    class WithProperty:
        lock = property(trip)

    assert get_attr(WithProperty(), "lock") is UNKNOWN
    assert trip.calls == 0


def test_getattr_fallback_is_not_called():
    trip = Tripwire()

    class WithGetattr:
        __getattr__ = trip

    assert get_attr(WithGetattr(), "lock") is UNKNOWN
    assert trip.calls == 0


def test_custom_getattribute_is_not_called():
    trip = Tripwire()

    class WithGetattribute:
        def __getattribute__(self, name):
            return trip(name)

    obj = WithGetattribute()
    object.__setattr__(obj, "lock", threading.Lock())
    assert get_attr(obj, "lock") is UNKNOWN
    assert trip.calls == 0


def test_data_and_non_data_descriptors_are_not_called():
    trip = Tripwire()

    class DataDescriptor:
        __get__ = trip

        def __set__(self, obj, value) -> None:
            trip()

    class NonDataDescriptor:
        __get__ = trip

    class Owner:
        data = DataDescriptor()
        non_data = NonDataDescriptor()

    assert get_attr(Owner(), "data") is UNKNOWN
    assert get_attr(Owner(), "non_data") is UNKNOWN
    assert trip.calls == 0


def test_metaclass_property_on_a_class_is_not_called():
    trip = Tripwire()

    class Meta(type):
        lock = property(trip)

    cls = Meta("WithMeta", (), {})
    assert get_attr(cls, "lock") is UNKNOWN
    assert trip.calls == 0


def test_class_and_dict_overrides_are_not_called():
    trip = Tripwire()

    class Liar:
        __class__ = property(trip)  # type: ignore[assignment]

    class NoDict:
        __dict__ = property(trip)  # type: ignore[assignment]

    liar = Liar()
    liar.value = 1
    assert get_attr(liar, "value") == 1
    assert type_name(liar).endswith("Liar")
    assert instance_dict(NoDict()) is None
    assert get_attr(NoDict(), "value") is UNKNOWN
    assert trip.calls == 0


def test_resolve_scopes_and_chains():
    class Box:
        pass

    box = Box()
    box.inner = Box()
    box.inner.lock = threading.Lock()
    f_locals = {"box": box, "shadow": "local"}
    f_globals = {"glob": box, "shadow": "global"}
    builtins = {"len": len}
    assert resolve(Expr("fast", "box", ("inner", "lock")), f_locals, f_globals, builtins) is (
        box.inner.lock
    )
    assert resolve(Expr("deref", "box"), f_locals, f_globals, builtins) is box
    assert resolve(Expr("global", "glob", ("inner",)), f_locals, f_globals, builtins) is (box.inner)
    assert resolve(Expr("global", "shadow"), f_locals, f_globals, builtins) == "global"
    assert resolve(Expr("name", "shadow"), f_locals, f_globals, builtins) == "local"
    assert resolve(Expr("name", "glob"), f_locals, f_globals, builtins) is box
    assert resolve(Expr("global", "len"), f_locals, f_globals, builtins) is len
    assert resolve(Expr("fast", "nothing"), f_locals, f_globals, builtins) is UNKNOWN
    assert resolve(Expr("fast", "box", ("nope", "lock")), f_locals, f_globals, builtins) is (
        UNKNOWN
    )


def test_resolve_does_not_read_foreign_mappings():
    trip = Tripwire()

    class Namespace(dict):
        __getitem__ = trip
        __contains__ = trip
        get = trip

    assert resolve(Expr("name", "x"), Namespace(x=1), {}, {}) is UNKNOWN
    assert trip.calls == 0


def test_resolve_on_a_live_frame():
    lock = threading.Lock()
    frame = sys._getframe()
    assert resolve(Expr("fast", "lock"), frame.f_locals, frame.f_globals, frame.f_builtins) is (
        lock
    )


def test_unknown_is_falsy_and_named():
    assert not UNKNOWN
    assert repr(UNKNOWN) == "UNKNOWN"


def test_type_names():
    assert type_name(1) == "int"
    assert type_name(threading.Lock()) == "_thread.lock"
    assert type_name(threading.Event()) == "threading.Event"

    class Local:
        pass

    assert type_name(Local()) == f"{__name__}.test_type_names.<locals>.Local"


class BadRepr:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __repr__(self) -> str:
        raise self.exc


def test_bounded_repr():
    assert bounded_repr([1, 2]) == "[1, 2]"
    assert len(bounded_repr("x" * 10_000)) <= 200
    assert len(bounded_repr("x" * 10_000, limit=50)) <= 50
    text = bounded_repr(BadRepr(ValueError("boom")))
    assert "repr failed" in text and "ValueError" in text
    text = bounded_repr(BadRepr(KeyboardInterrupt()))
    assert "KeyboardInterrupt" in text

    class Recursive:
        def __repr__(self) -> str:
            return repr(self)

    assert "RecursionError" in bounded_repr(Recursive())

    class Huge:
        def __repr__(self) -> str:
            return "h" * (1 << 20)

    assert len(bounded_repr(Huge())) <= 200
