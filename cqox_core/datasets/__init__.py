"""Seeded data generators with a known truth, in one place: the registry's examples,
the tests, the contract suite and the benchmarks all draw from here.

Every generator takes a size and a seed and returns a DataFrame; the same
arguments give the same frame. The module docstrings say what the truth is.
"""
from __future__ import annotations

from .designs import (
                      simulate_its,
                      simulate_iv,
                      simulate_rd,
                      simulate_single_adoption,
                      simulate_staggered,
                      simulate_switching,
                      simulate_synth,
)
from .observational import (
                      simulate_confounded,
                      simulate_heterogeneous,
                      simulate_homogeneous,
                      simulate_observational,
                      simulate_with_effects,
)

__all__ = ["simulate_confounded", "simulate_observational", "simulate_heterogeneous", "simulate_homogeneous",
           "simulate_with_effects", "simulate_single_adoption", "simulate_staggered", "simulate_switching",
           "simulate_iv", "simulate_rd", "simulate_its", "simulate_synth"]
