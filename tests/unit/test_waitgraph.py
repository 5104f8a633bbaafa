"""``snarl.analysis.waitgraph``: cycles of the wait-for graph, from hand-made edges."""

from __future__ import annotations

from snarl.analysis.waitgraph import WaitGraph


def graph(*edges: tuple) -> WaitGraph:
    g: WaitGraph = WaitGraph()
    for waiter, holder in edges:
        g.add(waiter, holder, f"{waiter}->{holder}")
    return g


def assert_cycle(steps: list, nodes: set) -> None:
    """Each step's holder is the next step's waiter, and the payload is the edge's own."""
    assert {s[0] for s in steps} == nodes
    assert len(steps) == len(nodes)
    for (waiter, holder, payload), following in zip(steps, steps[1:] + steps[:1], strict=True):
        assert holder == following[0]
        assert payload == f"{waiter}->{holder}"


def test_no_edges_no_cycles():
    assert graph().cycles() == []


def test_chain_is_no_cycle():
    assert graph((1, 2), (2, 3), (3, 4)).cycles() == []


def test_diamond_is_no_cycle():
    assert graph((1, 2), (1, 3), (2, 4), (3, 4)).cycles() == []


def test_two_thread_cycle():
    [cycle] = graph((1, 2), (2, 1)).cycles()
    assert_cycle(cycle, {1, 2})
    assert cycle[0][0] == 1  # starts at the smallest thread


def test_self_loop_is_a_one_step_cycle():
    [cycle] = graph((7, 7)).cycles()
    assert cycle == [(7, 7, "7->7")]


def test_single_node_without_self_loop_is_no_cycle():
    assert graph((5, 6)).cycles() == []


def test_five_philosophers_ring():
    ring = [(i, (i + 1) % 5) for i in range(5)]
    [cycle] = graph(*ring).cycles()
    assert_cycle(cycle, set(range(5)))
    assert [s[0] for s in cycle] == [0, 1, 2, 3, 4]


def test_threads_waiting_on_a_cycle_are_not_part_of_it():
    [cycle] = graph((10, 1), (11, 10), (1, 2), (2, 1), (2, 12)).cycles()
    assert_cycle(cycle, {1, 2})


def test_two_separate_cycles_in_stable_order():
    cycles = graph((30, 31), (31, 30), (3, 4), (4, 5), (5, 3)).cycles()
    assert len(cycles) == 2
    assert_cycle(cycles[0], {3, 4, 5})
    assert_cycle(cycles[1], {30, 31})


def test_one_cycle_per_strongly_connected_component():
    # 1<->2 and 2<->3 share node 2: one component, reported once, as one simple cycle.
    [cycle] = graph((1, 2), (2, 1), (2, 3), (3, 2)).cycles()
    nodes = {s[0] for s in cycle}
    assert nodes in ({1, 2}, {2, 3})
    assert_cycle(cycle, nodes)


def test_parallel_edges_keep_one_payload_per_step():
    g: WaitGraph = WaitGraph()
    g.add("a", "b", "first")
    g.add("a", "b", "second")
    g.add("b", "a", "back")
    [cycle] = g.cycles()
    assert [(w, h) for w, h, _ in cycle] == [("a", "b"), ("b", "a")]
    assert cycle[0][2] in ("first", "second")
    assert cycle[1][2] == "back"


def test_payload_is_handed_back_untouched():
    payload = object()
    g: WaitGraph = WaitGraph()
    g.add(1, 2, payload)
    g.add(2, 1, payload)
    assert all(step[2] is payload for step in g.cycles()[0])


def test_long_chain_into_a_ring_without_recursion():
    n = 20_000  # far beyond the recursion limit: the finder must be iterative
    edges = [(i, i + 1) for i in range(n)] + [(n, n - 2)]
    [cycle] = graph(*edges).cycles()
    assert_cycle(cycle, {n - 2, n - 1, n})


def test_big_ring():
    n = 5000
    [cycle] = graph(*[(i, (i + 1) % n) for i in range(n)]).cycles()
    assert_cycle(cycle, set(range(n)))


def test_same_result_whatever_the_insertion_order():
    edges = [(1, 2), (2, 3), (3, 1), (4, 5), (5, 4), (6, 1)]
    first = graph(*edges).cycles()
    assert graph(*reversed(edges)).cycles() == first
