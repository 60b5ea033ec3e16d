"""Widgets for a method's own parameters, read from its signature, each with a
plain-language explanation of what it does and why the default is what it is."""
from __future__ import annotations

import inspect
import typing
from typing import Any

import streamlit as st

from cqox_core import registry

HELP = {
    "trim": "Drop units whose propensity score is below this value or above 1 minus it. Extreme scores give "
            "huge weights; 0.01 removes only the most extreme.",
    "trim_quantile": "Alternative trimming: drop units below this quantile and above 1 minus it of the score.",
    "stabilize": "Multiply weights by the share treated; leaves the estimate unchanged but makes weights "
                 "easier to read.",
    "k": "Number of comparison units matched to each treated unit. More neighbours: less noise, more bias.",
    "caliper": "Largest allowed distance between matched units, in standard deviations of the logit score "
               "(0.2 is Austin's 2011 recommendation). Empty = no limit.",
    "replace": "Allow a comparison unit to be reused. Better matches, slightly wider intervals.",
    "order": "Order in which treated units pick partners when matching without replacement.",
    "variance_neighbors": "Neighbours used to estimate the noise of each unit's outcome (Abadie–Imbens).",
    "n_strata": "Number of propensity-score groups; 5 removes about 90% of the bias from the score "
                "(Cochran 1968).",
    "regression_within": "Also adjust for the covariates by regression inside each stratum.",
    "n_folds": "Cross-fitting folds: each unit's nuisance predictions come from models that did not see it.",
    "outcome_learner": "Model for the outcome: linear (transparent) or gradient boosting (flexible).",
    "propensity_learner": "Model for the chance of treatment: logistic (transparent) or gradient boosting.",
    "n_boot": "Bootstrap replications; 200 gives standard errors within about 5%.",
    "interacted": "Lin's estimator: lets the covariates' effect differ between groups (recommended).",
    "cov_type": "Standard-error formula; HC3 is robust to unequal variances and safe in small samples.",
    "ci": "Bootstrap interval: percentile, or BCa (corrects bias and skew).",
    "of": "The method whose uncertainty the bootstrap measures.",
}
SKIP = {"inner_params"}


def _choices(func, name: str) -> tuple[Any, ...] | None:
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - unresolvable annotations just mean no dropdown
        return None
    hint = hints.get(name)
    if typing.get_origin(hint) is typing.Literal:
        return typing.get_args(hint)
    return None


def widgets(method: str, runnable: list[str]) -> dict[str, Any]:
    """Draw the parameter widgets of ``method``; return only values that differ from the defaults."""
    spec = registry.get(method)
    values: dict[str, Any] = {}
    sig = inspect.signature(spec.func)
    for name, default in spec.defaults.items():
        if name in SKIP:
            continue
        key = f"param-{method}-{name}"
        help_text = HELP.get(name)
        choices = _choices(spec.func, name)
        param = sig.parameters[name]
        if name == "of":
            options = [m for m in runnable if m != method]
            value = st.selectbox("of", options, key=key, help=help_text) if options else None
        elif choices:
            value = st.selectbox(name, choices, index=choices.index(default) if default in choices else 0,
                                 key=key, help=help_text)
        elif isinstance(default, bool):
            value = st.checkbox(name, value=default, key=key, help=help_text)
        elif isinstance(default, int):
            value = int(st.number_input(name, value=default, step=1, key=key, help=help_text))
        elif isinstance(default, float) or (default is None and "float" in str(param.annotation)):
            text = st.text_input(name, "" if default is None else f"{default:g}", key=key, help=help_text)
            try:
                value = float(text) if text.strip() else None
            except ValueError:
                st.error(f"{name}: '{text}' is not a number; the default is used.")
                value = default
        else:
            continue
        if value != default:
            values[name] = value
    return values
