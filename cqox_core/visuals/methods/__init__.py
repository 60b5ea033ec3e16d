"""Figures of one method: ``cqox_core/visuals/methods/<method_id>.py`` defines
``figures(result: Mapping) -> list[VisualSpec]`` (from the result's JSON form) and may
register Plotly renderers for new kinds with ``plotly_render.register_renderer``.
Modules are found by method id; a method without one draws only the shared diagnostics."""
from __future__ import annotations

import importlib
from typing import Any, Mapping

from ..specs import VisualSpec


def figures(method: str, result: Mapping[str, Any]) -> list[VisualSpec]:
    """The method's own figures, or none when it has no figures module."""
    try:
        module = importlib.import_module(f"{__name__}.{method}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{method}":
            raise
        return []
    return [s for s in module.figures(result) if s is not None]
