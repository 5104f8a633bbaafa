"""Thin adapters that run the benchmark's workloads and bug suite through peer tools.

``run_peers.py`` is the entry point (run with the peers' venv Python, 3.12+); it prints one JSON
document.  ``interleave_test_adapter`` drives interleave-test, ``frontrun_adapter`` frontrun.
Neither tool's code is copied here: the adapters only call their public ``explore()``.
"""
