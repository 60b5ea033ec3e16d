"""Figures as data (VisualSpec) and their Plotly renderer.

Builders read the JSON form of results (``EffectResult.to_dict()`` / the
analysis dict), so a saved analysis redraws the same figures after a restart
without the original rows.
"""
from __future__ import annotations

from .plotly_render import render
from .specs import (
                    VisualSpec,
                    balance_plot,
                    by_plot,
                    cas_radar,
                    figures_for_analysis,
                    forest_plot,
                    forest_plots,
                    overlap_plot,
                    weight_plot,
)

__all__ = ["VisualSpec", "forest_plot", "forest_plots", "balance_plot", "overlap_plot", "weight_plot", "cas_radar",
           "by_plot", "figures_for_analysis", "render"]
