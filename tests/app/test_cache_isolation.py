"""Two uploads with the same file name and shape but different contents never share
cached results: the cache key is the upload's sha256, not its name."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import streamlit as st

import cqox_core as cq
from app_lib import compute


def csv_bytes(effect: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    t = rng.binomial(1, 1 / (1 + np.exp(-x)))
    y = effect * t + x + rng.normal(size=400)
    return pd.DataFrame({"x": x, "t": t, "y": y}).to_csv(index=False).encode()


def test_same_name_and_shape_different_contents_get_their_own_results():
    st.cache_data.clear()
    roles = json.dumps(cq.Roles(outcome="y", treatment="t", covariates=("x",)).to_dict(), sort_keys=True)
    out = []
    for effect, seed in ((1.0, 1), (5.0, 2)):
        raw = csv_bytes(effect, seed)
        import hashlib
        ds = compute.load_bytes(hashlib.sha256(raw).hexdigest(), "upload.csv", raw)
        assert ds.n_rows == 400 and list(ds.frame.columns) == ["x", "t", "y"]
        res = compute.run_method(ds.sha256, "regression_adjustment", roles, "ate", "{}", 0.05, 0, "v",
                                 _dataset=ds)
        out.append((ds.sha256, res["result"]["estimate"]))
    (sha_a, est_a), (sha_b, est_b) = out
    assert sha_a != sha_b
    # each estimate belongs to its own file (true effects 1 and 5; SEs are about 0.1)
    assert abs(est_a - 1.0) < 0.5 and abs(est_b - 5.0) < 0.5
