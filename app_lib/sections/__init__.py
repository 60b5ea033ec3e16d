"""Results-page sections of one method: ``app_lib/sections/<method_id>.py`` defines
``render(result: dict, analysis: dict) -> None`` (Streamlit calls) for what the shared table
and sentence do not show (effect heterogeneity, policy values, mediation parts ...).
Found by method id; a method without one gets only the shared view."""
from __future__ import annotations

import importlib
from typing import Any, Callable

Section = Callable[[dict[str, Any], dict[str, Any]], None]


def section(method: str) -> Section | None:
    try:
        module = importlib.import_module(f"{__name__}.{method}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{method}":
            raise
        return None
    return module.render
