"""Robustness values of the `sensitivity` method's registered example, computed by PySensemakr.

    cd /work/wt-adv3 && PYTHONPATH=$PWD python tests/estimators/references/scripts/sensitivity_example_sensemakr.py

The example is examples.confounded(0) (600 rows, effect 2); the regression is the additive OLS the robustness
value is defined on: outcome ~ treated + x1 + x2 + C(region), classical standard errors.
"""
from __future__ import annotations

import json

import sensemakr as smkr
import statsmodels.formula.api as smf

from cqox_core.datasets import examples

frame = examples.confounded(0).frame
fit = smf.ols("outcome ~ treated + x1 + x2 + C(region)", data=frame).fit()
t_stat, dof = float(fit.tvalues["treated"]), int(fit.df_resid)
print(json.dumps({
    "robustness_value": float(smkr.robustness_value(t_statistic=t_stat, dof=dof).iloc[0]),
    "robustness_value_alpha": float(smkr.robustness_value(t_statistic=t_stat, dof=dof, alpha=0.05).iloc[0]),
    "t": t_stat, "dof": dof,
}, indent=2))
