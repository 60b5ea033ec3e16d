"""Reference numbers for the Darfur bias contour and the "k times as strong as female" multiples.

    cd /work/wt-adv3 && PYTHONPATH=$PWD python tests/references/scripts/sensitivity_contour_darfur.py \
        > tests/references/sensitivity_contour_darfur.json

PySensemakr 0.0.8 on its bundled Darfur data (Hazlett 2019), the model of Cinelli & Hazlett (2020, Sec. 5):
peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female + village.

* contour: sensemakr's adjusted_estimate and adjusted_t (reduce=True) at two points of the grid CQOx
  attaches to this regression (25 x 25; the coordinates are the grid's own values, written out here:
  r2dz_x = 0.4 j / 24, r2yz_dx = 0.4488605652456976 i / 24 with 0.4488... = 1.2 x the 3x-female
  bound r2yz_dx 0.374050471038094), stored with the grid indices (i: outcome axis, j: treatment axis).
* multiples: k solved with scipy's brentq on sensemakr's own ovb_partial_r2_bound(kd=ky=k) for
  'female' (its partial R²s from sensemakr's partial_r2 of the t statistics) followed by adjusted_estimate (= 0) and adjusted_t (= t*_{0.025, dof - 1}).
"""
from __future__ import annotations

import json

import numpy as np
import sensemakr as smkr
import statsmodels.formula.api as smf
from scipy import optimize, stats

darfur = smkr.load_darfur()
model = smf.ols("peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + "
                "female + village", data=darfur).fit()
estimate, se, dof = float(model.params["directlyharmed"]), float(model.bse["directlyharmed"]), int(model.df_resid)

LIM_X, LIM_Y, STEPS = 0.4, 0.4488605652456976, 24
points = []
for i, j in ((5, 3), (20, 12)):
    r2dz, r2yz = LIM_X * j / STEPS, LIM_Y * i / STEPS
    points.append({"i": i, "j": j, "r2dz_x": r2dz, "r2yz_dx": r2yz,
                   "adjusted_estimate": float(smkr.adjusted_estimate(r2dz, r2yz, estimate=estimate, se=se, dof=dof)),
                   "adjusted_t": float(smkr.adjusted_t(r2dz, r2yz, estimate=estimate, se=se, dof=dof))})


# female's partial R²s from its t statistics (sensemakr's model= path trips on recent pandas, group_partial_r2)
treatment_model = smf.ols("directlyharmed ~ age + farmer_dar + herder_dar + pastvoted + hhsize_darfur + female + "
                          "village", data=darfur).fit()
R2YXJ = float(smkr.partial_r2(t_statistic=float(model.tvalues["female"]), dof=int(model.df_resid)))
R2DXJ = float(smkr.partial_r2(t_statistic=float(treatment_model.tvalues["female"]), dof=int(treatment_model.df_resid)))


def bound(k: float) -> tuple[float, float]:
    b = smkr.ovb_partial_r2_bound(r2dxj_x=R2DXJ, r2yxj_dx=R2YXJ, kd=k, ky=k)
    return float(np.asarray(b["r2dz_x"])[0]), float(np.asarray(b["r2yz_dx"])[0])


def adjusted(k: float) -> float:
    return float(smkr.adjusted_estimate(*bound(k), estimate=estimate, se=se, dof=dof))


def t_gap(k: float) -> float:
    return float(smkr.adjusted_t(*bound(k), estimate=estimate, se=se, dof=dof)) - float(stats.t.ppf(0.975, dof - 1))


print(json.dumps({
    "source": "PySensemakr 0.0.8 (adjusted_estimate, adjusted_t, ovb_partial_r2_bound) on its Darfur data; "
              "statsmodels 0.15 OLS",
    "script": "tests/references/scripts/sensitivity_contour_darfur.py",
    "estimate": estimate, "std_error": se, "dof": dof,
    "contour_points": points,
    "multiplier_zero_female": optimize.brentq(adjusted, 3.0, 6.0, xtol=1e-12),
    "multiplier_significance_female": optimize.brentq(t_gap, 2.0, 3.0, xtol=1e-12),
}, indent=2))
