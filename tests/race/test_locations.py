"""Every location kind races when unsynchronised and is clean when synchronised."""

from __future__ import annotations

import pytest

from snarl.race import races

from . import programs as p


def run(fn, *args):
    with races(p) as r:
        fn(*args)
    return r


def kinds(r):
    return [race.location for race in r.found]


@pytest.mark.parametrize(
    ("fn", "where"),
    [
        (p.attribute, "attribute balance of an Account"),
        (p.class_attribute, "class attribute rate of Account"),
        (p.module_global, "global hits of module tests.race.programs"),
        (p.closure_cell, "closure cell total"),
        (p.dict_value, "item['k'] of a dict"),
        (p.dict_check_then_act, "structure of a dict"),
        (p.list_element, "item[1] of a list"),
        (p.iterate_vs_append, "structure of a list"),
        (p.generator_execution, "execution of a generator"),
    ],
)
def test_location_races_and_its_twin_does_not(fn, where):
    r = run(fn, False)
    assert len(r.found) == 1, r.text()
    assert where in r.found[0].location
    twin = run(fn, True)
    assert twin.found == [], twin.text()
    assert twin.summary.accesses_checked > 0


@pytest.mark.parametrize(
    ("fn", "where"),
    [
        (p.bytearray_element, "item[0] of a bytearray"),
        (p.deque_element, "item[-1] of a deque"),
        (p.len_vs_pop, "structure of a list"),
        (p.set_membership_vs_add, "structure of a set"),
        (p.read_then_insert_vs_insert, "structure of a set"),
    ],
)
def test_more_locations_race(fn, where):
    r = run(fn)
    assert [race.location for race in r.found if where in race.location], r.text()


@pytest.mark.parametrize(
    "fn",
    [p.two_appends, p.dict_distinct_keys, p.thread_local, p.immutable_tuple, p.reads_only],
)
def test_atomic_and_unshared_accesses_do_not_race(fn):
    r = run(fn)
    assert r.found == [], r.text()
    assert r.summary.threads >= 3


def test_augmented_assignment_races_with_itself_once():
    r = run(p.attribute, False)
    (race,) = r.found
    assert race.access.write and race.previous.write
    assert race.access.text == race.previous.text == "acct.balance"


@pytest.mark.parametrize("other_writes", [True, False])
def test_a_write_after_the_threads_own_read_is_still_checked(other_writes, capsys):
    # The write after a thread's own read of the same epoch skips its checks only while that
    # read is the location's last access (shadow._write): another thread's access in between
    # must still be found.
    r = run(p.read_then_write_around_another, other_writes)
    pairs = {(race.previous.write, race.access.write) for race in r.found}
    assert (other_writes, True) in pairs, r.text()


@pytest.mark.parametrize("reader", ["instance", "subclass", "subclass instance"])
def test_a_class_attribute_read_through_an_instance_or_subclass_is_the_class_attribute(reader):
    r = run(p.class_attribute_through_instance, False, reader)
    assert [race.location for race in r.found] == ["class attribute rate of Account"], r.text()
    twin = run(p.class_attribute_through_instance, True, reader)
    assert twin.found == [], twin.text()


def test_an_instance_attribute_that_shadows_the_class_attribute_is_its_own_location():
    r = run(p.instance_attribute_shadowing_the_class)
    assert r.found == [], r.text()
    assert r.summary.accesses_checked > 0
