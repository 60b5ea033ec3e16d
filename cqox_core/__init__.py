"""CQOx core: the causal-inference engine behind the app and the `cqox` CLI.

One verb per step of the walk: ``load``, ``infer_roles``, ``detect_domain``,
``select``, ``estimate``, ``evaluate_gates``, ``score``, ``decide``, ``analyze``.
This package never imports streamlit.
"""
from __future__ import annotations

from .analysis import Analysis, analyze
from .api import estimate
from .cas import CAS, score
from .data import Dataset, load
from .decision import Decision, decide
from .domain import Domain, detect_domain
from .errors import CQOxError, DataError, EstimationError, MethodError, RoleError
from .gates import evaluate_gates
from .mapping import Mapping, infer_roles
from .results import EffectResult, Gate, SubEstimate
from .roles import Roles
from .selection import Choice, select

__version__ = "0.1.0"
__all__ = ["load", "infer_roles", "detect_domain", "select", "estimate", "evaluate_gates", "score", "decide",
           "analyze", "Dataset", "Roles", "Mapping", "Domain", "Choice", "EffectResult", "Gate", "SubEstimate",
           "CAS", "Decision", "Analysis", "CQOxError", "DataError", "RoleError", "EstimationError",
           "MethodError"]
