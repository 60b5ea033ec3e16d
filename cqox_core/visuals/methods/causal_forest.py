"""Figures of causal_forest: effects by group (GATES), their distribution, the Qini curve."""
from __future__ import annotations

from typing import Any, Mapping

from ..specs import VisualSpec
from ._cate_figures import figures as cate_figures


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    return cate_figures(result)
