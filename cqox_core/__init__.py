"""CQOx core: the causal-inference engine behind the app and the `cqox` CLI."""
from __future__ import annotations

from .api import estimate
from .data import Dataset, load
from .errors import CQOxError, DataError, EstimationError, MethodError, RoleError
from .results import EffectResult, Gate, SubEstimate
from .roles import Roles

__version__ = "0.1.0"
__all__ = ["estimate", "load", "Dataset", "Roles", "EffectResult", "Gate", "SubEstimate",
           "CQOxError", "DataError", "RoleError", "EstimationError", "MethodError"]
