"""Results-page section of meta_learner: the shared heterogeneity view."""
from __future__ import annotations

from typing import Any

from app_lib.sections._cate import render as render_cate


def render(result: dict[str, Any], analysis: dict[str, Any]) -> None:
    render_cate(result, analysis)
