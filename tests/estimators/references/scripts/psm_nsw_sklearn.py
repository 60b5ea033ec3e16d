"""Peer numbers for ``psm`` on the NSW experimental sample: statsmodels Logit + scikit-learn NearestNeighbors.

Propensity score matching of the treated on the control units, written from scratch with other
libraries: the linear predictor of statsmodels' Logit of treat on [1, age, educ, black, hisp, marr,
nodegree, re74, re75] (Newton, tol 1e-12) is the distance; NearestNeighbors (manhattan on the score)
finds the k nearest controls with ties at the k-th distance kept (distances within 1e-9 are ties,
psm's documented tie tolerance), within a caliper of c pooled SDs of the score when given. ATT = mean
over matched treated of Y - mean of its matches; the Abadie & Imbens (2006) variance with the match
counts generalised to ties and sigma^2 from the nearest same-arm control. The same code as
reference_att() in tests/estimators/test_psm.py, whose stored NSW_REFERENCE it reproduces.

Run from the repository root (statsmodels 0.15, scikit-learn 1.9, causaldata 0.1.5):
    python tests/estimators/references/scripts/psm_nsw_sklearn.py
"""
from __future__ import annotations

import json

import causaldata
import numpy as np
import statsmodels.api as sm
from sklearn.neighbors import NearestNeighbors

COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
TIE = 1e-9
CASES = [(1, 0.2), (1, None), (3, 0.2)]


def logit_score(frame) -> np.ndarray:
    X = sm.add_constant(frame[COVARIATES].astype(float)).to_numpy()
    fit = sm.Logit(frame.treat.to_numpy(float), X).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    return X @ fit.params


def matches(pool: np.ndarray, query: np.ndarray, k: int, caliper: float | None) -> list[np.ndarray]:
    nn = NearestNeighbors(n_neighbors=k, metric="manhattan").fit(pool.reshape(-1, 1))
    kth = nn.kneighbors(query.reshape(-1, 1))[0][:, -1]
    out = []
    for x, r in zip(query, kth):
        found = nn.radius_neighbors([[x]], radius=r + TIE, return_distance=False)[0]
        if caliper is not None:
            found = found[np.abs(pool[found] - x) <= caliper]
        out.append(np.sort(found))
    return out


def within_arm_sigma2(score: np.ndarray, y: np.ndarray) -> np.ndarray:
    nn = NearestNeighbors(n_neighbors=2, metric="manhattan").fit(score.reshape(-1, 1))
    kth = nn.kneighbors(score.reshape(-1, 1))[0][:, -1]
    sigma2 = np.empty(score.size)
    for i, r in enumerate(kth):
        found = nn.radius_neighbors([[score[i]]], radius=r + TIE, return_distance=False)[0]
        found = found[found != i]
        sigma2[i] = found.size / (found.size + 1) * (y[i] - y[found].mean()) ** 2
    return sigma2


def reference_att(frame, k: int, caliper_sd: float | None) -> dict:
    score = logit_score(frame)
    t = frame.treat.to_numpy() == 1
    y = frame.re78.to_numpy(float)
    sd = np.sqrt((score[t].var(ddof=1) + score[~t].var(ddof=1)) / 2)
    found = matches(score[~t], score[t], k, None if caliper_sd is None else caliper_sd * sd)
    matched = [(i, m) for i, m in enumerate(found) if m.size]
    effects = np.array([y[t][i] - y[~t][m].mean() for i, m in matched])
    tau = effects.mean()
    w, s = np.zeros((~t).sum()), np.zeros((~t).sum())
    for _, m in matched:
        w[m] += 1 / m.size
        s[m] += 1 / m.size ** 2
    variance = (np.sum((effects - tau) ** 2) + np.sum((w ** 2 - s) * within_arm_sigma2(score[~t], y[~t]))) \
        / effects.size ** 2
    return {"k": k, "caliper": caliper_sd, "estimate": float(tau), "std_error": float(np.sqrt(variance)),
            "matched_pairs": len(matched)}


def main() -> None:
    frame = causaldata.nsw_mixtape.load_pandas().data.drop(columns="data_id").astype(float)
    print(json.dumps([reference_att(frame, k, c) for k, c in CASES], indent=1))


if __name__ == "__main__":
    main()
