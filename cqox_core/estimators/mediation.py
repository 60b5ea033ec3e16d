"""Causal mediation analysis: natural direct and indirect effects (``mediation``).

Estimands (Imai, Keele & Tingley 2010, Psychological Methods 15:309; Imai, Keele &
Yamamoto 2010, Statistical Science 25:51, "IKY" below). With Y(t, m) the outcome under
treatment t and mediator value m, and M(t) the mediator under treatment t,

    mu(t, t')  = E[ Y(t, M(t')) ]
    ACME(t)    = mu(t, 1) - mu(t, 0)       the average causal mediation (indirect) effect
    ADE(t)     = mu(1, t) - mu(0, t)       the average direct effect
    total      = mu(1, 1) - mu(0, 0) = ACME(t) + ADE(1 - t)

and, as in R's mediation, ACME = (ACME(0) + ACME(1)) / 2, ADE likewise and the proportion
mediated ACME / total. They are identified under sequential ignorability: no unmeasured
confounding of treatment and outcome, of treatment and mediator, and of mediator and outcome
given the covariates (the last cannot be ensured by randomising the treatment).

Models. A linear mediator model M = a0 + a T + X a_x + e, e ~ N(0, s^2), and an outcome
model that is linear, E[Y | t, m, x] = b0 + c t + (b + d t) m + x b_x, or probit,
P(Y = 1 | t, m, x) = Phi(b0 + c t + (b + d t) m + x b_x) (d = 0 without ``interaction``).
Then mu(t, t') is a closed form averaged over the sample's covariates:

    linear   mu(t, t') = mean_i[ b0 + c t + x_i b_x + (b + d t)(a0 + a t' + x_i a_x) ]
    probit   mu(t, t') = mean_i Phi( (b0 + c t + x_i b_x + (b + d t)(a0 + a t' + x_i a_x))
                                     / sqrt(1 + (b + d t)^2 s^2) )

(the probit line integrates the normal mediator error analytically: E Phi(u + vZ) =
Phi(u / sqrt(1 + v^2)) for Z ~ N(0, 1)). Without interaction and with a linear outcome,
ACME = a b, ADE = c: the product of coefficients of Baron & Kenny (IKY, Theorem 2).

Inference. Quasi-Bayesian Monte Carlo (Imai, Keele & Tingley 2010, Algorithm 1; King, Tomz
& Wittenberg 2000): draw both models' coefficients from their asymptotic normal distributions
(HC1 sandwich by default, CR1 with a cluster role; the two models are estimated separately and
drawn independently, as in R's mediation and statsmodels), evaluate the effects for each draw,
and take percentile intervals. Or the nonparametric bootstrap (Algorithm 2): refit both
models on resampled rows (whole clusters with a cluster role). The standard error is the
standard deviation of the draws; the p-value is the two-sided Monte Carlo p-value
2 (1 + min(#draws <= 0, #draws >= 0)) / (1 + n_sims), capped at 1.

Sensitivity (IKY 2010, Sec. 5, eq. 12-14), for a linear outcome without interaction: if the
mediator's and the outcome's errors correlate by rho (an unmeasured mediator-outcome
confounder),

    ACME(rho) = (a s1 / s2) * ( rho~ - rho * sqrt((1 - rho~^2) / (1 - rho^2)) )

with s1, s2 the residual standard deviations of the total-effect regression Y ~ T + X and
of the mediator regression, and rho~ the correlation of their residuals. The ACME vanishes
at rho = rho~, reported as ``rho_at_zero``; rho^2 = R*^2_M R*^2_Y is the product of the shares
of the mediator's and the outcome's unexplained variance such a confounder would have to
explain (IKY eq. 17), reported as ``r2_product_at_zero``.

Several mediators: ``mediators=A,B`` analyses further mediators one at a time, each with the
same outcome, treatment and covariates (results under ``diagnostics.other_mediators``). Each
one-at-a-time ACME is the effect through that mediator only if the mediators do not affect
each other (Imai & Yamamoto 2013, Political Analysis 21:141): the result warns about it.

Deliberate differences from R's mediation and statsmodels' Mediation:
* The point estimate is the plug-in value at the fitted coefficients, not the mean (or
  median, for the proportion) of the simulated draws, so it does not change with the seed or
  the number of simulations; the intervals are the draws' percentiles as there.
* Mediator values are integrated out analytically rather than drawn once per unit and
  simulation, which removes that Monte Carlo noise (the expectation is the same).
* Standard errors of both models are HC1-robust by default (R: robustSE = FALSE, classical;
  statsmodels: classical); ``cov_type="classical"`` reproduces theirs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from ..data import Dataset
from ..datasets.advanced import mediation_example
from ..errors import EstimationError, RoleError
from ..inference import bootstrap_draws, ols
from ..params import at_least
from ..prep import is_numeric_column, prepare
from ..registry import Reference, Requirements, register
from ..results import EffectResult, SubEstimate
from ..roles import Roles
from ._common import finish

OutcomeModel = Literal["linear", "probit"]
Inference = Literal["quasi_bayes", "bootstrap"]
CovType = Literal["HC1", "HC3", "classical"]
#: Fewest Monte Carlo draws or resamples: percentile limits of fewer are too noisy to report.
MIN_SIMS = 100
#: Monte Carlo draws are evaluated in blocks of this many (probit: an n x block matrix at a time).
DRAW_BLOCK = 64
#: The sensitivity curve ACME(rho) is reported on this grid of rho (R's medsens default range).
RHO_GRID = np.round(np.arange(-0.9, 0.9001, 0.05), 10)
EFFECTS = ("acme", "ade", "total", "proportion_mediated")
CHECK_ASSUMPTION = ("Mediation effects rest on 'sequential ignorability': besides no hidden confounding of the "
                    "treatment, nothing unmeasured may affect both the mediator and the outcome. Randomising the "
                    "treatment does not ensure the second part; the sensitivity value rho says how much such "
                    "confounding would erase the indirect effect.")


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class MediationData:
    """Complete-case arrays for one mediator; weights normalised to mean 1."""

    y: np.ndarray
    t: np.ndarray
    m: np.ndarray
    X: np.ndarray                  # covariates without intercept
    x_names: tuple[str, ...]
    weight: np.ndarray | None
    cluster: np.ndarray | None
    mediator: str
    warnings: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.y.size)


def check_mediator_role(roles: Roles, mediator: str, frame: pd.DataFrame) -> None:
    """A mediator must be a numeric column other than the outcome, the treatment and the covariates."""
    if mediator == roles.outcome:
        raise RoleError(f"The mediator '{mediator}' is the outcome column itself.",
                        "A mediator is a different variable on the path from treatment to outcome, measured after "
                        "treatment and before the outcome (e.g. a test score between a programme and earnings).",
                        code="E-ROLE-101")
    if mediator == roles.treatment:
        raise RoleError(f"The mediator '{mediator}' is the treatment column itself.",
                        "Choose a variable the treatment changes and that in turn affects the outcome.",
                        code="E-ROLE-102")
    if mediator in roles.covariates:
        raise RoleError(f"'{mediator}' is listed both as the mediator and as a covariate.",
                        "Covariates are measured before treatment; a mediator after it. Remove it from the "
                        "covariates (adjusting for it would block the path you want to measure).",
                        code="E-ROLE-103")
    if mediator not in frame.columns:
        sample = ", ".join(map(str, list(frame.columns)[:12]))
        raise RoleError(f"Mediator column not found in the data: {mediator}.",
                        f"Available columns include: {sample}. Column names are case-sensitive.",
                        code="E-ROLE-002")
    if not is_numeric_column(frame[mediator]):
        raise RoleError(f"The mediator '{mediator}' is not numeric "
                        f"(e.g. {frame[mediator].dropna().astype(str).iloc[0]!r}).",
                        "The mediator model is a linear regression: recode the mediator as a number.",
                        code="E-ROLE-104")


def mediation_arrays(data: Dataset, roles: Roles, mediator: str) -> MediationData:
    """Complete cases of outcome, treatment, mediator, covariates, cluster and weight."""
    check_mediator_role(roles, mediator, data.frame)
    # the mediator enters as the last "covariate", so its missing rows are dropped with the others'
    prep = prepare(data, roles.replace(covariates=(*roles.covariates, mediator)), need_covariates=False)
    if mediator not in prep.x_names:
        raise EstimationError(f"The mediator '{mediator}' is constant, or an exact combination of the covariates, "
                              "in the rows used: it cannot carry any effect.",
                              "Choose a mediator that varies between units beyond what the covariates explain.",
                              code="E-EST-114")
    j = prep.x_names.index(mediator)
    X = np.delete(np.asarray(prep.X), j, axis=1)
    weight = None if prep.weight is None else np.asarray(prep.weight) / np.mean(prep.weight)
    if weight is not None and (np.any(~np.isfinite(weight)) or np.any(weight < 0)):
        raise EstimationError(f"The weight column '{roles.weight}' has negative or non-finite values.",
                              "Weights must be non-negative numbers.", code="E-EST-028")
    warnings = [w.replace(f"Covariate term(s) {mediator}, ", "Covariate term(s) ") for w in prep.warnings]
    return MediationData(y=np.asarray(prep.y), t=np.asarray(prep.t), m=np.asarray(prep.X[:, j]), X=X,
                         x_names=tuple(n for n in prep.x_names if n != mediator), weight=weight,
                         cluster=None if prep.cluster is None else np.asarray(prep.cluster), mediator=mediator,
                         warnings=tuple(warnings))


def mediator_design(d: MediationData) -> np.ndarray:
    return np.column_stack([np.ones(d.n), d.t, d.X])


def outcome_design(d: MediationData, interaction: bool) -> np.ndarray:
    parts = [np.ones(d.n), d.t, d.m] + ([d.t * d.m] if interaction else [])
    return np.column_stack(parts + [d.X])


# --------------------------------------------------------------------------
# the two models
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelFit:
    coef: np.ndarray
    cov: np.ndarray
    sigma: float           # residual standard deviation (linear models; 1 for probit)


def linear_fit(X: np.ndarray, y: np.ndarray, d: MediationData, cov_type: str) -> ModelFit:
    kind = "cluster" if d.cluster is not None else cov_type
    fit = ols(X, y, cov_type=kind, cluster=d.cluster, weights=d.weight)
    w = np.ones(d.n) if d.weight is None else d.weight
    sigma = math.sqrt(float(np.sum(w * fit.resid ** 2)) / max(d.n - X.shape[1], 1))
    return ModelFit(coef=fit.coef, cov=fit.cov, sigma=sigma)


def normal_pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def probit_fit(X: np.ndarray, y: np.ndarray, d: MediationData, cov_type: str, *, max_iter: int = 100,
               tol: float = 1e-10) -> ModelFit:
    """Probit maximum likelihood by Fisher scoring (IRLS), with a sandwich covariance.

    "classical" is the inverse expected information X' diag(w phi^2 / (p (1 - p))) X (as R's
    glm and statsmodels' GLM). The sandwich's bread is the observed information
    X' diag(w lambda (lambda + eta)) X, lambda = q phi(eta) / Phi(q eta), q = 2y - 1 (the
    derivative of the score, which the sandwich needs when the model is misspecified; as
    statsmodels' Probit and GLM robust covariances); its meat the outer products of the scores
    x w lambda (summed within clusters with a cluster role); HC1 scales by n / (n - k) and
    "HC3" is taken as HC1 (leverage corrections are for linear models). Refuses a fit that does
    not converge (the covariates separate the outcome's two values).
    """
    n, k = X.shape
    w = np.ones(n) if d.weight is None else d.weight
    beta = np.zeros(k)
    beta[0] = stats.norm.ppf(np.clip(np.average(y, weights=w), 1e-6, 1 - 1e-6))
    converged = False
    for _ in range(max_iter):
        eta = X @ beta
        p = np.clip(special.ndtr(eta), 1e-12, 1 - 1e-12)
        phi = normal_pdf(eta)
        score = X.T @ (w * (y - p) * phi / (p * (1 - p)))
        info = (X * (w * phi ** 2 / (p * (1 - p)))[:, None]).T @ X
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if np.max(np.abs(step)) < tol * (1 + np.max(np.abs(beta))):
            converged = True
            break
    eta = X @ beta
    if not converged or np.max(np.abs(eta)) > 30:
        raise EstimationError("The probit outcome model did not converge: the covariates, treatment and mediator "
                              "(almost) perfectly predict the outcome.",
                              "Use fewer covariates, merge rare categories, or use outcome_model=linear.",
                              code="E-EST-112")
    p = np.clip(special.ndtr(eta), 1e-12, 1 - 1e-12)
    phi = normal_pdf(eta)
    if cov_type == "classical" and d.cluster is None:
        return ModelFit(coef=beta, cov=np.linalg.inv((X * (w * phi ** 2 / (p * (1 - p)))[:, None]).T @ X),
                        sigma=1.0)
    q = 2.0 * y - 1.0
    lam = q * phi / np.clip(special.ndtr(q * eta), 1e-300, None)
    bread = np.linalg.inv((X * (w * lam * (lam + eta))[:, None]).T @ X)
    scores = X * (w * lam)[:, None]
    factor = n / max(n - k, 1)
    if d.cluster is not None:
        _, idx = np.unique(d.cluster, return_inverse=True)
        g = int(idx.max()) + 1
        summed = np.zeros((g, k))
        np.add.at(summed, idx, scores)
        scores, factor = summed, (g / max(g - 1, 1)) * ((n - 1) / max(n - k, 1))
    return ModelFit(coef=beta, cov=factor * bread @ (scores.T @ scores) @ bread, sigma=1.0)


def fit_models(d: MediationData, outcome_model: str, interaction: bool, cov_type: str) -> tuple[ModelFit, ModelFit]:
    """(mediator model, outcome model) on the rows of ``d``."""
    mediator = linear_fit(mediator_design(d), d.m, d, cov_type)
    design = outcome_design(d, interaction)
    outcome = (probit_fit(design, d.y, d, cov_type) if outcome_model == "probit"
               else linear_fit(design, d.y, d, cov_type))
    return mediator, outcome


# --------------------------------------------------------------------------
# effects as functions of the coefficients (vectorised over draws)
# --------------------------------------------------------------------------

def potential_means(alpha: np.ndarray, beta: np.ndarray, sigma_m: float, d: MediationData, outcome_model: str,
                    interaction: bool) -> np.ndarray:
    """mu(t, t') for coefficient draws: alpha (S x pa), beta (S x pb) -> (S, 2, 2) indexed [t, t'].

    alpha = [a0, a, a_x]; beta = [b0, c, b, (d,) b_x] (module docstring).
    """
    w = np.ones(d.n) if d.weight is None else d.weight
    offset = 4 if interaction else 3
    a0, a, a_x = alpha[:, 0], alpha[:, 1], alpha[:, 2:]
    b0, c, b = beta[:, 0], beta[:, 1], beta[:, 2]
    b_tm = beta[:, 3] if interaction else np.zeros_like(b0)
    b_x = beta[:, offset:]
    out = np.empty((alpha.shape[0], 2, 2))
    if outcome_model == "linear":
        # linear in x: averaging over units only needs the covariate means
        xbar = np.average(d.X, axis=0, weights=w) if d.X.shape[1] else np.zeros(0)
        for t in (0, 1):
            for t_m in (0, 1):
                out[:, t, t_m] = (b0 + c * t + b_x @ xbar + (b + b_tm * t) * (a0 + a * t_m + a_x @ xbar))
        return out
    xa, xb = d.X @ a_x.T, d.X @ b_x.T          # n x S
    for t in (0, 1):
        slope = b + b_tm * t
        scale = np.sqrt(1.0 + slope ** 2 * sigma_m ** 2)
        for t_m in (0, 1):
            index = (b0 + c * t + xb + slope * (a0 + a * t_m + xa)) / scale
            out[:, t, t_m] = w @ special.ndtr(index) / w.sum()
    return out


def effects_from_means(mu: np.ndarray) -> dict[str, np.ndarray]:
    """ACME(t), ADE(t), their averages, the total and the proportion mediated, per draw."""
    acme0, acme1 = mu[:, 0, 1] - mu[:, 0, 0], mu[:, 1, 1] - mu[:, 1, 0]
    ade0, ade1 = mu[:, 1, 0] - mu[:, 0, 0], mu[:, 1, 1] - mu[:, 0, 1]
    total = mu[:, 1, 1] - mu[:, 0, 0]
    acme = 0.5 * (acme0 + acme1)
    with np.errstate(divide="ignore", invalid="ignore"):
        proportion = np.where(total != 0, acme / total, np.nan)
    return {"acme": acme, "ade": 0.5 * (ade0 + ade1), "total": total, "proportion_mediated": proportion,
            "acme_control": acme0, "acme_treated": acme1, "ade_control": ade0, "ade_treated": ade1}


def effects(alpha: np.ndarray, beta: np.ndarray, sigma_m: float, d: MediationData, outcome_model: str,
            interaction: bool) -> dict[str, np.ndarray]:
    """Effects for draws, in blocks so a probit evaluation holds n x DRAW_BLOCK numbers at a time."""
    parts = [effects_from_means(potential_means(alpha[i:i + DRAW_BLOCK], beta[i:i + DRAW_BLOCK], sigma_m, d,
                                                outcome_model, interaction))
             for i in range(0, alpha.shape[0], DRAW_BLOCK)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def quasi_bayes_draws(med: ModelFit, out: ModelFit, n_sims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients drawn from N(coef, cov) of each model, independently (Algorithm 1)."""
    rng = np.random.default_rng(seed)
    alpha = rng.multivariate_normal(med.coef, med.cov, size=n_sims, method="cholesky")
    beta = rng.multivariate_normal(out.coef, out.cov, size=n_sims, method="cholesky")
    return alpha, beta


def subset(d: MediationData, rows: np.ndarray) -> MediationData:
    take = (lambda a: None if a is None else a[rows])
    return MediationData(y=d.y[rows], t=d.t[rows], m=d.m[rows], X=d.X[rows], x_names=d.x_names,
                         weight=take(d.weight), cluster=take(d.cluster), mediator=d.mediator, warnings=())


def bootstrap_effects(d: MediationData, outcome_model: str, interaction: bool, cov_type: str, n_sims: int,
                      seed: int) -> tuple[dict[str, np.ndarray], int]:
    """Effects refitted on resampled rows (Algorithm 2); resamples that cannot be fitted are counted."""
    draws: list[dict[str, np.ndarray]] = []
    failed = 0
    for rows in bootstrap_draws(d.n, n_sims, seed, d.cluster):
        sample = subset(d, rows)
        if np.ptp(sample.t) == 0:
            failed += 1
            continue
        try:
            med, out = fit_models(sample, outcome_model, interaction, "classical")
        except (EstimationError, np.linalg.LinAlgError):
            failed += 1
            continue
        # averaged over the resample's own covariates, so their sampling variation enters the interval
        draws.append(effects(med.coef[None], out.coef[None], med.sigma, sample, outcome_model, interaction))
    if failed > 0.1 * n_sims:
        raise EstimationError(f"{failed} of {n_sims} bootstrap resamples could not be fitted (a resample without "
                              "both groups, or a probit fit that did not converge).",
                              "Use inference=quasi_bayes, or more data per group.", code="E-EST-020")
    return {k: np.concatenate([p[k] for p in draws]) for k in draws[0]}, failed


# --------------------------------------------------------------------------
# sensitivity to mediator-outcome confounding (IKY 2010, Sec. 5)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SensitivityParts:
    """What ACME(rho) needs: the treatment's effect on the mediator, the residual SDs and rho~."""

    a: float
    s1: float              # residual SD of the total-effect regression Y ~ T + X
    s2: float              # residual SD of the mediator regression M ~ T + X
    rho_tilde: float       # correlation of the two residuals

    def acme(self, rho: np.ndarray | float) -> np.ndarray:
        """IKY 2010 eq. 14: the ACME if the mediator's and the outcome's errors correlate by rho."""
        rho = np.asarray(rho, dtype=float)
        rt = self.rho_tilde
        return self.a * self.s1 / self.s2 * (rt - rho * np.sqrt((1 - rt ** 2) / (1 - rho ** 2)))


def sensitivity_parts(d: MediationData, med: ModelFit) -> SensitivityParts:
    w = np.ones(d.n) if d.weight is None else d.weight
    design = mediator_design(d)
    e1 = ols(design, d.y, cov_type="classical", weights=d.weight).resid
    e2 = d.m - design @ med.coef
    s1, s2 = math.sqrt(np.average(e1 ** 2, weights=w)), math.sqrt(np.average(e2 ** 2, weights=w))
    return SensitivityParts(a=float(med.coef[1]), s1=s1, s2=s2,
                            rho_tilde=float(np.average(e1 * e2, weights=w) / (s1 * s2)))


def sensitivity(d: MediationData, med: ModelFit) -> dict[str, Any]:
    """rho at which the ACME vanishes and the curve ACME(rho), linear models without interaction."""
    parts = sensitivity_parts(d, med)
    return {"rho_at_zero": parts.rho_tilde, "r2_product_at_zero": parts.rho_tilde ** 2,
            "sensitivity_curve": {"rho": RHO_GRID.tolist(), "acme": parts.acme(RHO_GRID).tolist()},
            "sensitivity_reference": "Imai, Keele & Yamamoto (2010), Statistical Science 25:51, eq. 14"}


# --------------------------------------------------------------------------
# one mediator, start to end
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class MediatorResult:
    point: dict[str, float]
    draws: dict[str, np.ndarray]
    data: MediationData
    mediator_fit: ModelFit
    outcome_fit: ModelFit
    failed_resamples: int


def analyse_mediator(data: Dataset, roles: Roles, mediator: str, *, outcome_model: str, interaction: bool,
                     inference: str, n_sims: int, cov_type: str, seed: int) -> MediatorResult:
    d = mediation_arrays(data, roles, mediator)
    if outcome_model == "probit" and not np.isin(d.y, (0.0, 1.0)).all():
        raise EstimationError(f"outcome_model=probit needs a 0/1 outcome; '{roles.outcome}' takes other values.",
                              "Use outcome_model=linear for a numeric outcome, or recode the outcome as 0/1.",
                              code="E-EST-111")
    k = 3 + int(interaction) + d.X.shape[1]
    if d.n <= k + 1:
        raise EstimationError(f"{d.n} usable rows for an outcome model with {k} coefficients: too few to fit.",
                              "Provide more rows or use fewer covariates.", code="E-EST-002")
    med, out = fit_models(d, outcome_model, interaction, cov_type)
    point = {k_: float(v[0]) for k_, v in
             effects(med.coef[None], out.coef[None], med.sigma, d, outcome_model, interaction).items()}
    failed = 0
    if inference == "bootstrap":
        draws, failed = bootstrap_effects(d, outcome_model, interaction, cov_type, n_sims, seed)
    else:
        alpha, beta = quasi_bayes_draws(med, out, n_sims, seed)
        draws = effects(alpha, beta, med.sigma, d, outcome_model, interaction)
    return MediatorResult(point=point, draws=draws, data=d, mediator_fit=med, outcome_fit=out,
                          failed_resamples=failed)


def monte_carlo_p(draws: np.ndarray) -> float:
    """Two-sided Monte Carlo p-value for 'the effect is 0' (module docstring)."""
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return math.nan
    tail = min(int(np.sum(draws <= 0)), int(np.sum(draws >= 0)))
    return min(1.0, 2.0 * (1 + tail) / (1 + draws.size))


def interval(draws: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """(standard deviation, lower, upper percentile) of the finite draws."""
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        return math.nan, math.nan, math.nan
    lo, hi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return float(np.std(draws, ddof=1)), float(lo), float(hi)


def summarise(res: MediatorResult, alpha: float) -> dict[str, dict[str, float]]:
    out = {}
    for name, value in res.point.items():
        se, lo, hi = interval(res.draws[name], alpha)
        finite = res.draws[name][np.isfinite(res.draws[name])]
        # the draws' mean is what R's mediation and statsmodels report as the estimate (for comparison)
        out[name] = {"estimate": value, "std_error": se, "ci_lower": lo, "ci_upper": hi,
                     "p_value": monte_carlo_p(res.draws[name]),
                     "simulation_mean": float(finite.mean()) if finite.size else math.nan}
    return out


def sub_estimates(table: dict[str, dict[str, float]], n: int) -> tuple[SubEstimate, ...]:
    return tuple(SubEstimate(label=name, estimate=table[name]["estimate"], std_error=table[name]["std_error"],
                             ci_lower=table[name]["ci_lower"], ci_upper=table[name]["ci_upper"],
                             p_value=table[name]["p_value"], n_obs=n) for name in EFFECTS)


def mediator_list(roles: Roles, mediators: str | None) -> list[str]:
    roles.require("mediator")
    names = [roles.mediator] + [m.strip() for m in (mediators or "").split(",") if m.strip()]
    return list(dict.fromkeys(names))


def result_warnings(res: MediatorResult, table: dict[str, dict[str, float]], extra: list[str]) -> list[str]:
    out = list(res.data.warnings) + [CHECK_ASSUMPTION]
    total = table["total"]
    if total["ci_lower"] <= 0 <= total["ci_upper"]:
        out.append("The total effect's interval includes zero, so the proportion mediated (a ratio with the total "
                   "in the denominator) is unstable and its interval very wide; read the ACME and ADE instead.")
    if res.failed_resamples:
        out.append(f"{res.failed_resamples} bootstrap resamples could not be fitted and were left out.")
    return out + extra


def mediator_diagnostics(res: MediatorResult, table: dict[str, dict[str, float]], outcome_model: str,
                         interaction: bool) -> dict[str, Any]:
    med, out, d = res.mediator_fit, res.outcome_fit, res.data
    diag: dict[str, Any] = {
        "mediator": d.mediator, "n": d.n, "n_treated": int(d.t.sum()), "n_control": int(d.n - d.t.sum()),
        "effects": table,
        "treatment_on_mediator": float(med.coef[1]), "treatment_on_mediator_se": math.sqrt(med.cov[1, 1]),
        "mediator_on_outcome": float(out.coef[2]), "mediator_on_outcome_se": math.sqrt(out.cov[2, 2]),
        "mediator_residual_sd": med.sigma, "outcome_model": outcome_model, "interaction": interaction,
        "covariate_terms": list(d.x_names), "treatment_kind": "binary",
    }
    if outcome_model == "linear" and not interaction:
        diag.update(sensitivity(d, med))
    else:
        diag["rho_at_zero"] = None
        diag["sensitivity_note"] = ("The closed-form sensitivity analysis (Imai, Keele & Yamamoto 2010) is for a "
                                    "linear outcome model without a treatment-mediator interaction.")
    return diag


@register("mediation", family="mediation", design="cross_section", estimands=("acme",),
          requires=Requirements(roles=("outcome", "treatment", "mediator"), recommended=("covariates",),
                                treatment="binary"),
          title="Causal mediation (direct and indirect effects)",
          summary="Splits the effect of the treatment into the part that passes through a mediator (the average "
                  "causal mediation effect, ACME, the headline) and the rest (the average direct effect, ADE), "
                  "from a model of the mediator and a model of the outcome (Imai, Keele & Tingley 2010), with the "
                  "share mediated and how strong an unmeasured mediator-outcome confounder would have to be to "
                  "erase the indirect effect.",
          inference="quasi-Bayesian Monte Carlo percentiles from HC1 (or cluster) covariances, or the bootstrap",
          params={
              "mediators": "Further mediator columns, comma-separated, analysed one at a time beside the mediator "
                           "role (each assumes the mediators do not affect one another).",
              "outcome_model": "linear (any numeric outcome) or probit (a 0/1 outcome).",
              "interaction": "Let the mediator's effect on the outcome differ between treated and untreated "
                             "(then the ACME differs between them; both are reported).",
              "inference": "quasi_bayes: draw both models' coefficients from their sampling distribution "
                           "(fast); bootstrap: refit both models on resampled rows.",
              "n_sims": "Number of Monte Carlo draws or bootstrap resamples for the intervals (at least 100).",
              "cov_type": "Standard-error formula of both models' coefficients: HC1 (robust, the default), HC3 "
                          "or classical (as R's mediation without robustSE).",
          },
          headline_rank=None, battery=False, example=mediation_example, transparency=0.8, cost_exponent=1.0,
          references=(
              Reference(quantity="estimate", value=0.0805, tolerance=0.012,
                        source="R mediation 4.x, Tingley et al. (2014, J Stat Softw 59(5)) framing example: "
                               "mediate(lm(emo ~ treat + age + educ + gender + income), glm(cong_mesg ~ emo + "
                               "treat + age + educ + gender + income, binomial('probit')), robustSE = TRUE, "
                               "sims = 100): ACME (average) 0.0805 [0.0350, 0.1304]",
                        script="tests/estimators/references/scripts/mediation_framing.py",
                        data="cqox:framing_frame",
                        roles={"outcome": "cong_mesg", "treatment": "treat", "mediator": "emo",
                               "covariates": ["age", "educ", "gender", "income"]},
                        params={"outcome_model": "probit", "cov_type": "HC3"},
                        why_tolerance="R's point estimate is the mean of 100 simulated draws (Monte Carlo "
                                      "standard error about 0.0025) and our plug-in value differs from the "
                                      "draws' mean by the curvature of the probit; 0.012 is about 4.5 such "
                                      "standard errors."),
              Reference(quantity="diagnostics.effects.acme.simulation_mean", value=0.08224984376628595,
                        tolerance=0.0012,
                        source="statsmodels.stats.mediation.Mediation(method='parametric', n_rep=20000) on the "
                               "framing data, same models, classical covariances: mean of the ACME draws "
                               "(tests/estimators/references/mediation_framing.json)",
                        script="tests/estimators/references/scripts/mediation_framing.py",
                        data="cqox:framing_frame",
                        roles={"outcome": "cong_mesg", "treatment": "treat", "mediator": "emo",
                               "covariates": ["age", "educ", "gender", "income"]},
                        params={"outcome_model": "probit", "cov_type": "classical", "n_sims": 20000},
                        why_tolerance="both are means of 20,000 draws with Monte Carlo standard errors of about "
                                      "0.0002 each (statsmodels' a little more: it also draws mediator values); "
                                      "0.0012 is about 4 standard errors of the difference."),
          ))
def mediation(data: Dataset, roles: Roles, *, estimand: Literal["acme"] = "acme", alpha: float = 0.05,
              seed: int = 0, mediators: str | None = None, outcome_model: OutcomeModel = "linear",
              interaction: bool = False, inference: Inference = "quasi_bayes",
              n_sims: Annotated[int, at_least(MIN_SIMS)] = 1000,
              cov_type: CovType = "HC1") -> EffectResult:
    """Natural direct and indirect effects (see the module docstring for the models and sources)."""
    roles.check_columns(data.frame)
    names = mediator_list(roles, mediators)
    runs = [analyse_mediator(data, roles, name, outcome_model=outcome_model, interaction=interaction,
                             inference=inference, n_sims=n_sims, cov_type=cov_type, seed=seed) for name in names]
    head, tables = runs[0], [summarise(r, alpha) for r in runs]
    table = tables[0]
    diagnostics = mediator_diagnostics(head, table, outcome_model, interaction)
    diagnostics["inference"] = inference
    diagnostics["n_sims"] = n_sims
    extra: list[str] = []
    if len(runs) > 1:
        diagnostics["other_mediators"] = {r.data.mediator: mediator_diagnostics(r, t, outcome_model, interaction)
                                          for r, t in zip(runs[1:], tables[1:])}
        extra.append(f"{len(runs)} mediators were analysed one at a time ({', '.join(names)}). Each indirect effect "
                     "is the effect through that mediator alone only if the mediators do not affect one another; "
                     "if one causes another, their ACMEs overlap and do not add up.")
    se_method = ("quasi-Bayesian Monte Carlo (Imai, Keele & Tingley 2010, Algorithm 1) with "
                 f"{'cluster-robust' if head.data.cluster is not None else cov_type} covariances"
                 if inference == "quasi_bayes" else
                 "nonparametric bootstrap of both models (Imai, Keele & Tingley 2010, Algorithm 2)")
    acme = table["acme"]
    result = finish("mediation", "acme", acme["estimate"], acme["std_error"], alpha=alpha, n_obs=head.data.n,
                    se_method=f"{se_method}; percentile interval of {n_sims} draws",
                    diagnostics=diagnostics, warnings=result_warnings(head, table, extra),
                    by=sub_estimates(table, head.data.n),
                    estimand_label=f"ACME: the part of the effect that passes through '{head.data.mediator}'")
    # the interval and p-value are the draws' percentiles and Monte Carlo p-value, not Wald's
    return result.replace(ci_lower=acme["ci_lower"], ci_upper=acme["ci_upper"], p_value=acme["p_value"])
