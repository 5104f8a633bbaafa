"""Analyses over runtime state: the one wait-for graph and its cycle finder."""

from .waitgraph import WaitGraph as WaitGraph
