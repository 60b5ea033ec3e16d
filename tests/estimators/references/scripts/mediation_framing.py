"""Reference numbers for ``mediation`` on the framing experiment (Brader, Valentino & Suhay 2008),
computed without CQOx by statsmodels' Mediation (Imai, Keele & Tingley 2010, Algorithm 1).

    .venv/bin/python tests/estimators/references/scripts/mediation_framing.py

writes tests/estimators/references/mediation_framing.json.

The data are the framing data of R's mediation package as shipped with statsmodels' own tests
(statsmodels/stats/tests/results/framing.csv, 265 rows, read from the installed statsmodels). The models are those of the R package's
vignette (Tingley et al. 2014, J Stat Softw 59(5), Sec. 3.1): a linear model of the mediator emo
(emotional response) on treat + age + educ + gender + income, a probit model of the outcome
cong_mesg (sent a message to Congress) on emo + treat + age + educ + gender + income. educ and
gender are categorical (treatment coding, first level alphabetically as the reference, as
pandas.get_dummies(drop_first=True) in CQOx).

statsmodels draws both models' coefficients from N(coef, classical cov), draws one mediator value
per unit from the fitted normal mediator model and averages the outcome model's predictions. Its
estimate is the mean of the draws. With N_REP draws, the Monte Carlo standard error of that mean
is sd(draws) / sqrt(N_REP), recorded below; percentile limits have a Monte Carlo error of about
twice that.

The published R output of the same models (robustSE = TRUE, sims = 100) is recorded as well:
ACME (average) 0.0805 [0.0350, 0.1304], ADE (average) 0.0145, total 0.0949 (the vignette's run,
as reproduced at https://imathworks.com/cv/solved-comprehending-output-from-mediation-analysis-in-r).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels
import statsmodels.api as sm
from statsmodels.stats.mediation import Mediation

OUT = Path(__file__).resolve().parent.parent / "mediation_framing.json"
N_REP = 20_000
SEED = 20240917
COVARIATES = ["age", "educ", "gender", "income"]


def framing_path() -> Path:
    """statsmodels/stats/tests/results/framing.csv in the installed statsmodels (read, not copied)."""
    import statsmodels

    return Path(statsmodels.__file__).parent / "stats" / "tests" / "results" / "framing.csv"


def exog(frame: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    cov = pd.get_dummies(frame[COVARIATES], drop_first=True, dtype=float)
    return pd.concat([pd.Series(1.0, index=frame.index, name="const"), frame[first].astype(float), cov], axis=1)


def main() -> None:
    frame = pd.read_csv(framing_path())
    out_exog = exog(frame, ["treat", "emo"])
    med_exog = exog(frame, ["treat"])
    outcome_model = sm.GLM(frame["cong_mesg"].astype(float).to_numpy(), out_exog.to_numpy(),
                           family=sm.families.Binomial(link=sm.families.links.Probit()))
    mediator_model = sm.OLS(frame["emo"].astype(float).to_numpy(), med_exog.to_numpy())
    med = Mediation(outcome_model, mediator_model, exposure=(1, 1), mediator=2,
                    outcome_fit_kwargs={"atol": 1e-11})
    res = med.fit(method="parametric", n_rep=N_REP, rng=np.random.default_rng(SEED))
    summary = res.summary()
    draws = {"acme": res.ACME_avg, "ade": res.ADE_avg, "total": res.total_effect}
    out = {
        "source": "statsmodels.stats.mediation.Mediation(method='parametric') on the framing data "
                  "(statsmodels/stats/tests/results/framing.csv); mediator emo ~ treat + age + educ + gender + "
                  "income (OLS), outcome cong_mesg ~ emo + treat + age + educ + gender + income (probit GLM), "
                  "classical covariances",
        "script": "tests/estimators/references/scripts/mediation_framing.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "pandas": pd.__version__,
                     "statsmodels": statsmodels.__version__},
        "n_rep": N_REP, "seed": SEED, "n": int(len(frame)),
        "statsmodels": {name: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)),
                               "ci_lower": float(np.percentile(v, 2.5)), "ci_upper": float(np.percentile(v, 97.5)),
                               "monte_carlo_se": float(np.std(v, ddof=1) / np.sqrt(N_REP))}
                        for name, v in draws.items()},
        "statsmodels_summary": {k: dict(zip(summary.columns, map(float, row)))
                                for k, row in zip(summary.index, summary.to_numpy())},
        "r_mediation_published": {
            "call": "mediate(med.fit, out.fit, treat = 'treat', mediator = 'emo', robustSE = TRUE, sims = 100)",
            "source": "R mediation vignette output (Tingley et al. 2014, J Stat Softw 59(5), Sec. 3.1), as "
                      "reproduced at https://imathworks.com/cv/solved-comprehending-output-from-mediation-"
                      "analysis-in-r",
            "acme_average": 0.0805, "acme_ci": [0.0350, 0.1304], "ade_average": 0.0145, "total": 0.0949,
            "proportion_mediated_average": 0.7731},
    }
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["statsmodels"], indent=2))


if __name__ == "__main__":
    main()
