"""Propensity score matching (``psm``): recovery of known effects, agreement with
an independent implementation (statsmodels Logit + scikit-learn NearestNeighbors)
and with a literal transcription of the Abadie-Imbens (2006) variance, the NSW
experimental benchmark, and the result contract."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from sklearn.neighbors import NearestNeighbors

import cqox_core as cq
from cqox_core.datasets.observational import simulate_with_effects as simulate
from cqox_core.errors import EstimationError, MethodError, RoleError

NSW_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
#: Experimental benchmark on the NSW sample: difference in means of re78 (LaLonde 1986;
#: Dehejia & Wahba 1999, Table 3).
NSW_EXPERIMENTAL_ATT = 1794.34


def naive_difference(frame: pd.DataFrame) -> float:
    return float(frame.y[frame.t == 1].mean() - frame.y[frame.t == 0].mean())


def run(frame: pd.DataFrame, **kw) -> cq.EffectResult:
    return cq.estimate("psm", frame, outcome="y", treatment="t", covariates=["x1", "x2", "x3"], **kw)


# --- recovery ---------------------------------------------------------------------------------

def test_recovers_constant_att_and_naive_does_not():
    frame, effect = simulate(4000, seed=11)
    res = run(frame, estimand="att", seed=0, k=1)
    # Monte Carlo, 400 draws of this design (seeds 1000-1399, n=4000, default caliper):
    # bias +0.003, sd 0.054, mean reported SE 0.053, 95% coverage 0.945, max |z| 2.85.
    # So the SE is honest and 4 SE (~0.21) is exceeded with probability < 1e-4.
    tol = 4 * res.std_error
    assert abs(res.estimate - 2.0) < tol
    assert abs(naive_difference(frame) - 2.0) > tol   # confounding adds ~+2.3 to the naive contrast
    assert res.ci_lower < 2.0 < res.ci_upper
    assert res.diagnostics["matched_share"] > 0.95


def test_recovers_att_and_ate_under_heterogeneous_effects():
    frame, effect = simulate(4000, seed=12, heterogeneous=True)
    true_att = effect[frame.t == 1].mean()          # sample ATT: mean of 1 + 1.5 x1 over the treated
    true_ate = effect.mean()
    att = run(frame, estimand="att", caliper=None)   # no caliper: the target is every treated unit
    ate = run(frame, estimand="ate", caliper=None)
    # Monte Carlo, 400 draws (n=4000): ATT bias +0.010, sd 0.055, mean SE 0.064 (coverage 0.98);
    # ATE bias +0.012, sd 0.051, mean SE 0.060 (coverage 0.98). The SE targets the population
    # effect, so against the sample truth it is conservative; 4 SE stays far from a false alarm.
    assert abs(att.estimate - true_att) < 4 * att.std_error
    assert abs(ate.estimate - true_ate) < 4 * ate.std_error
    assert true_att - true_ate > 0.5                 # the estimands really differ (~0.6) ...
    assert att.estimate - ate.estimate > 0.3         # ... and the estimates tell them apart
    assert abs(naive_difference(frame) - true_att) > 4 * att.std_error


def test_without_replacement_uses_each_control_once_and_recovers_effect():
    frame, _ = simulate(4000, seed=13)
    res = run(frame, estimand="att", replace=False, k=1, seed=3)
    d = res.diagnostics
    assert d["distinct_matches_used"] == d["matched_links"] == d["matched_pairs"]
    assert d["max_match_weight"] == 1.0
    # Greedy 1:1 matching without replacement runs short of close controls at high scores and
    # keeps some bias. Monte Carlo (400 draws, n=4000): bias +0.023, sd 0.042, mean SE 0.041,
    # coverage 0.90, max |z| 3.7; so 5 SE (~0.2) is safe and still far below the naive error (~2.3).
    assert abs(res.estimate - 2.0) < 5 * res.std_error
    assert abs(naive_difference(frame) - 2.0) > 5 * res.std_error


def test_matching_balances_the_covariates():
    frame, _ = simulate(3000, seed=14)
    d = run(frame).diagnostics
    before = max(abs(v) for v in d["smd_before"].values())
    after = max(abs(v) for v in d["smd_after"].values())
    assert before > 0.25 and after < 0.1       # Austin (2009) threshold for balance


# --- agreement with independent implementations -----------------------------------------------

def statsmodels_logit_score(frame: pd.DataFrame, covariates: list[str], treatment: str) -> np.ndarray:
    X = sm.add_constant(frame[covariates].astype(float)).to_numpy()
    fit = sm.Logit(frame[treatment].to_numpy(float), X).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    return X @ fit.params


#: Distances closer than this are ties (psm's documented TIE_TOLERANCE): NSW's integer covariates
#: make exact ties such as age 22 vs 24 around age 23 that rounding may or may not split.
TIE = 1e-9


def sklearn_matches(pool: np.ndarray, query: np.ndarray, k: int, caliper: float | None) -> list[np.ndarray]:
    """All pool units within the k-th nearest distance (ties kept) and within the caliper."""
    nn = NearestNeighbors(n_neighbors=k, metric="manhattan").fit(pool.reshape(-1, 1))
    kth = nn.kneighbors(query.reshape(-1, 1))[0][:, -1]
    out = []
    for x, r in zip(query, kth):
        found = nn.radius_neighbors([[x]], radius=r + TIE, return_distance=False)[0]
        if caliper is not None:
            found = found[np.abs(pool[found] - x) <= caliper]
        out.append(np.sort(found))
    return out


def sklearn_within_arm_sigma2(score: np.ndarray, y: np.ndarray, neighbors: int = 1) -> np.ndarray:
    """AI (2006) sigma^2_i = J/(J+1) (Y_i - mean of J nearest same-arm units)^2, ties kept."""
    nn = NearestNeighbors(n_neighbors=neighbors + 1, metric="manhattan").fit(score.reshape(-1, 1))
    kth = nn.kneighbors(score.reshape(-1, 1))[0][:, -1]
    sigma2 = np.empty(score.size)
    for i, r in enumerate(kth):
        found = nn.radius_neighbors([[score[i]]], radius=r + TIE, return_distance=False)[0]
        found = found[found != i]
        j = found.size
        sigma2[i] = j / (j + 1) * (y[i] - y[found].mean()) ** 2
    return sigma2


def reference_att(frame: pd.DataFrame, k: int, caliper_sd: float | None) -> dict:
    """PSM ATT and its AI variance written out from scratch."""
    score = statsmodels_logit_score(frame, NSW_COVARIATES, "treat")
    t = frame.treat.to_numpy() == 1
    y = frame.re78.to_numpy(float)
    sd = np.sqrt((score[t].var(ddof=1) + score[~t].var(ddof=1)) / 2)
    caliper = None if caliper_sd is None else caliper_sd * sd
    matches = sklearn_matches(score[~t], score[t], k, caliper)
    matched = [(i, m) for i, m in enumerate(matches) if m.size]
    effects = np.array([y[t][i] - y[~t][m].mean() for i, m in matched])
    tau = effects.mean()
    # K_M(j)/M generalised to ties: sum over treated i using control j of 1/#J(i); and of 1/#J(i)^2
    w = np.zeros((~t).sum())
    s = np.zeros((~t).sum())
    for _, m in matched:
        w[m] += 1 / m.size
        s[m] += 1 / m.size ** 2
    sigma2 = sklearn_within_arm_sigma2(score[~t], y[~t])
    variance = (np.sum((effects - tau) ** 2) + np.sum((w ** 2 - s) * sigma2)) / effects.size ** 2
    pairs = [[int(np.flatnonzero(t)[i]), int(np.flatnonzero(~t)[j])] for i, m in matched for j in m]
    return {"estimate": tau, "std_error": np.sqrt(variance), "matched": len(matched), "pairs": pairs}


#: Reference values on the NSW experimental sample (causaldata.nsw_mixtape, 445 rows), produced by
#: ``reference_att`` above (statsmodels 0.15.0 Logit, scikit-learn 1.9.1 NearestNeighbors).
#: Stored so that a change in either implementation shows up; tolerance 1e-6 relative.
NSW_REFERENCE = {
    # (k, caliper in SD): (ATT, AI standard error, matched treated)
    (1, 0.2): (2577.06170, 701.01859, 183),
    (1, None): (2639.86455, 723.53691, 185),
    (3, 0.2): (2453.57365, 696.14727, 183),
}


@pytest.fixture(scope="module")
def nsw() -> pd.DataFrame:
    causaldata = pytest.importorskip("causaldata")
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id")
    return frame.astype(float)      # stored as float32; compare in float64


@pytest.mark.parametrize("k,caliper", list(NSW_REFERENCE))
def test_att_agrees_with_sklearn_reference_on_nsw(nsw, k, caliper):
    """Same matches, so the ATT and the SE agree exactly up to floating-point summation order
    (the two logit fits differ by ~1e-10, far below any gap between distinct scores)."""
    res = cq.estimate("psm", nsw, outcome="re78", treatment="treat", covariates=NSW_COVARIATES,
                      estimand="att", k=k, caliper=caliper)
    ref = reference_att(nsw, k, caliper)
    assert res.diagnostics["matched_pairs"] == ref["matched"]
    assert sorted(map(tuple, res.diagnostics["pairs"])) == sorted(map(tuple, ref["pairs"]))[:1000]
    assert res.estimate == pytest.approx(ref["estimate"], rel=1e-9)
    assert res.std_error == pytest.approx(ref["std_error"], rel=1e-9)
    stored_att, stored_se, stored_matched = NSW_REFERENCE[(k, caliper)]
    assert res.estimate == pytest.approx(stored_att, rel=1e-6)
    assert res.std_error == pytest.approx(stored_se, rel=1e-6)
    assert ref["matched"] == stored_matched


def test_nsw_estimates_sit_near_the_experimental_benchmark(nsw):
    """In the randomized NSW sample matching should find roughly the experimental effect:
    within 2 SE of $1794 (LaLonde 1986; Dehejia & Wahba 1999)."""
    for estimand in ("att", "ate"):
        res = cq.estimate("psm", nsw, outcome="re78", treatment="treat", covariates=NSW_COVARIATES,
                          estimand=estimand)
        assert abs(res.estimate - NSW_EXPERIMENTAL_ATT) < 2 * res.std_error


def literal_ai_variance(score: np.ndarray, t: np.ndarray, y: np.ndarray, m: int, estimand: str) -> tuple:
    """Abadie & Imbens (2006, Theorem 7) transcribed literally for data without ties:
    K_M(i) = times unit i is used as a match, M = m matches, sigma^2 by J=1 same-arm match.
    ATT: V = 1/N1^2 [ sum_{W=1} (Y_i - Yhat_i(0) - tau)^2 + sum_{W=0} K(K-1)/M^2 sigma2_i ]
    ATE: V = 1/N^2 sum_i [ (Yhat_i(1) - Yhat_i(0) - tau)^2 + ((K/M)^2 + (2M-1)/M K/M) sigma2_i ]
    """
    n = y.size
    yhat1, yhat0 = np.where(t == 1, y, np.nan), np.where(t == 0, y, np.nan)
    K = np.zeros(n)
    sigma2 = np.zeros(n)
    targets = range(n) if estimand == "ate" else np.flatnonzero(t == 1)
    for i in targets:
        other = np.flatnonzero(t != t[i])
        nearest = other[np.argsort(np.abs(score[other] - score[i]), kind="stable")[:m]]
        K[nearest] += 1
        if t[i] == 1:
            yhat0[i] = y[nearest].mean()
        else:
            yhat1[i] = y[nearest].mean()
    for i in range(n):
        same = np.flatnonzero((t == t[i]) & (np.arange(n) != i))
        j = same[np.argmin(np.abs(score[same] - score[i]))]
        sigma2[i] = 0.5 * (y[i] - y[j]) ** 2                 # J/(J+1) with J = 1
    if estimand == "att":
        tr = t == 1
        tau = np.mean(y[tr] - yhat0[tr])
        v = (np.sum((y[tr] - yhat0[tr] - tau) ** 2) + np.sum((K * (K - 1) / m ** 2 * sigma2)[~tr])) / tr.sum() ** 2
    else:
        tau = np.mean(yhat1 - yhat0)
        factor = (K / m) ** 2 + (2 * m - 1) / m * K / m
        v = np.sum((yhat1 - yhat0 - tau) ** 2 + factor * sigma2) / n ** 2
    return tau, np.sqrt(v)


@pytest.mark.parametrize("estimand,k", [("att", 1), ("att", 3), ("ate", 1), ("ate", 2)])
def test_standard_error_matches_literal_abadie_imbens_formula(estimand, k):
    """Continuous covariates, so no ties: the paper's formula applies verbatim. Same matches and
    the same arithmetic, so agreement to 1e-9 relative (summation order only)."""
    frame, _ = simulate(500, seed=21, heterogeneous=True)
    score = statsmodels_logit_score(frame, ["x1", "x2", "x3"], "t")
    tau, se = literal_ai_variance(score, frame.t.to_numpy(), frame.y.to_numpy(), k, estimand)
    res = run(frame, estimand=estimand, k=k, caliper=None)
    assert res.estimate == pytest.approx(tau, rel=1e-9)
    assert res.std_error == pytest.approx(se, rel=1e-9)


def test_atc_mirrors_att_with_arms_swapped():
    """ATC of T is minus the ATT of 1 - T (matching is symmetric in the arms)."""
    frame, _ = simulate(800, seed=22, heterogeneous=True)
    atc = run(frame, estimand="atc")
    flipped = run(frame.assign(t=1 - frame.t), estimand="att")
    assert atc.estimate == pytest.approx(-flipped.estimate, rel=1e-12)
    assert atc.std_error == pytest.approx(flipped.std_error, rel=1e-12)


# --- contract -------------------------------------------------------------------------------

def test_seed_determinism_and_seed_matters_without_replacement():
    frame, _ = simulate(1500, seed=31)
    a = run(frame, replace=False, seed=5).to_dict()
    b = run(frame, replace=False, seed=5).to_dict()
    c = run(frame, replace=False, seed=6).to_dict()
    assert a == b
    assert a["diagnostics"]["pairs"] != c["diagnostics"]["pairs"]   # greedy order is random by seed
    assert run(frame, order="largest", replace=False).diagnostics["matched_pairs"] > 0


def test_pairs_use_the_frame_index_and_link_treated_to_control():
    frame, _ = simulate(600, seed=32)
    frame.index = pd.Index(np.arange(600) * 10 + 7)
    res = run(frame, k=2)
    pairs = res.diagnostics["pairs"]
    assert 0 < len(pairs) <= 1000
    assert all(frame.t[a] == 1 and frame.t[b] == 0 for a, b in pairs)
    assert len(pairs) == res.diagnostics["matched_links"]


def test_constant_treatment_is_a_typed_error():
    frame, _ = simulate(200, seed=33)
    with pytest.raises(RoleError) as info:
        run(frame.assign(t=1))
    assert info.value.code == "E-ROLE-003" and info.value.hint


def test_no_match_within_a_tiny_caliper_is_a_typed_error():
    frame, _ = simulate(200, seed=34)
    with pytest.raises(EstimationError) as info:
        run(frame, caliper=1e-9)
    assert info.value.code == "E-EST-010" and "caliper" in info.value.message and info.value.hint


@pytest.mark.parametrize("params, code", [({"k": 0}, "E-METHOD-005"), ({"k": 1.5}, "E-METHOD-005"),
                                          ({"caliper": -1.0}, "E-METHOD-005"), ({"order": "sideways"}, "E-METHOD-005"),
                                          ({"estimand": "ate", "replace": False}, "E-METHOD-006")])
def test_bad_parameters_are_typed_errors(params, code):
    """A bad value is E-METHOD-005; values that are fine alone but do not go together are E-METHOD-006."""
    frame, _ = simulate(200, seed=35)
    with pytest.raises(MethodError) as info:
        run(frame, **params)
    assert info.value.code == code


def test_unmatched_units_are_reported_and_warned():
    frame, _ = simulate(1000, seed=36)
    res = run(frame, caliper=0.005)
    d = res.diagnostics
    assert d["unmatched_treated"] > 0
    assert d["matched_pairs"] + d["unmatched_treated"] == int(frame.t.sum())
    assert d["matched_share"] == pytest.approx(d["matched_pairs"] / frame.t.sum())
    assert any("no match within the caliper" in w for w in res.warnings)


def test_json_round_trip():
    frame, _ = simulate(400, seed=37)
    for estimand in ("att", "ate", "atc"):
        d = run(frame, estimand=estimand).to_dict()
        assert json.loads(json.dumps(d, allow_nan=False)) == d
        assert d["method"] == "psm" and d["estimand"] == estimand
        assert "Abadie-Imbens" in d["se_method"] and "known" in d["se_method"]


def test_without_replacement_and_without_caliper_reports_unmatched_units():
    """More treated than controls: some treated units run out of partners; a warning says so."""
    rng = np.random.default_rng(4)
    n = 300
    x = rng.normal(size=n)
    t = (rng.uniform(size=n) < 0.7).astype(int)
    y = t + x + rng.normal(size=n)
    df = pd.DataFrame({"x": x, "t": t, "y": y})
    res = cq.estimate("psm", df, outcome="y", treatment="t", covariates=["x"], replace=False, caliper=None)
    assert res.diagnostics["unmatched_treated"] == int(t.sum()) - int((1 - t).sum())
    assert any("used up the comparison units" in w for w in res.warnings)
