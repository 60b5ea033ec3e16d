"""(being written) Sensitivity: E-value, robustness value."""
from __future__ import annotations


def attach_sensitivity(result, dataset, roles):
    return result
