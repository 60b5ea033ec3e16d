"""The shared sub-estimate and period-label helpers (estimators/_common.py)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cqox_core.estimators._common import period_label, period_value, sub_estimate


def test_sub_estimate_normal_and_t_intervals():
    sub = sub_estimate("lead 1", 2.0, 0.5, 0.05, n_obs=40, kind="lead")
    z = stats.norm.ppf(0.975)
    assert (sub.ci_lower, sub.ci_upper) == pytest.approx((2.0 - z * 0.5, 2.0 + z * 0.5), rel=1e-12)
    assert sub.p_value == pytest.approx(2 * stats.norm.sf(4.0), rel=1e-12)
    assert sub.n_obs == 40 and sub.extra == {"kind": "lead"}
    t = sub_estimate("x", 2.0, 0.5, 0.05, df=5)
    assert t.ci_upper - t.estimate == pytest.approx(stats.t.ppf(0.975, 5) * 0.5, rel=1e-12)
    assert t.ci_upper > sub.ci_upper          # t(5) is wider than the normal


def test_sub_estimate_without_se_and_with_external_interval():
    none = sub_estimate("gap 2001", 1.5, math.nan, 0.05, n_obs=3)
    assert math.isnan(none.ci_lower) and math.isnan(none.ci_upper) and math.isnan(none.p_value)
    boot = sub_estimate("b", 1.0, 0.5, 0.05, interval=(0.1, 2.5), extra={"df": 3}, replicates=99)
    assert (boot.ci_lower, boot.ci_upper) == (0.1, 2.5)
    assert boot.p_value == pytest.approx(2 * stats.norm.sf(2.0), rel=1e-12)   # the p-value stays Wald
    assert boot.extra == {"df": 3, "replicates": 99}                        # any key passes through extra


@pytest.mark.parametrize("value, text, plain", [
    (2006.0, "2006", 2006),
    (np.float64(2006.0), "2006", 2006),
    (np.int64(7), "7", 7),
    (2.5, "2.5", 2.5),
    (pd.Timestamp("2011-07-01"), "2011-07-01", "2011-07-01"),
    (np.datetime64("2011-07-01"), "2011-07-01", "2011-07-01"),
    (pd.Timestamp("2011-07-01 12:30"), "2011-07-01T12:30:00", "2011-07-01T12:30:00"),
    ("Q3", "Q3", "Q3"),
])
def test_period_label_and_value(value, text, plain):
    assert period_label(value) == text
    assert period_value(value) == plain and type(period_value(value)) is type(plain)
