"""Inference building blocks: Wald intervals, influence-function SEs, least squares
with sandwich covariances (``covariance``: HC0-HC3, CR1, Newey-West), bootstrap draws.

These are small standalone functions (pyfixest's habit) so estimators stay short
and every standard error says where it came from.
"""
from __future__ import annotations

from . import covariance
from .influence import influence_se
from .intervals import wald
from .regression import LeastSquares, OLSFit, least_squares, ols
from .resampling import bootstrap_draws

__all__ = ["LeastSquares", "OLSFit", "bootstrap_draws", "covariance", "influence_se", "least_squares", "ols",
           "wald"]
