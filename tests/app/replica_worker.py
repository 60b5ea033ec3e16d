"""One app process for tests/app/test_replicas.py: runs app.py (AppTest) against the configured store.

    python tests/app/replica_worker.py save NAME    # ana runs one estimator and saves it (shared) as NAME
    python tests/app/replica_worker.py list         # vic opens Saved analyses; prints the names shown

Prints one JSON object on stdout. The store is whatever CQOX_DATABASE_URL / CQOX_DATA_DIR say, exactly as
for `make run`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from cqox_core.data import Dataset  # noqa: E402
from tests.app.conftest import campaign_frame, go, log_in, new_app, texts  # noqa: E402


def save(name: str) -> dict:
    at = new_app().run()
    log_in(at, "ana")
    ds = Dataset.from_frame(campaign_frame(), source="voucher_campaign.csv")
    at.session_state["dataset"] = ds
    at.session_state["dataset_sha"] = ds.sha256
    at.session_state["roles"] = {"outcome": "spend_after_90d", "treatment": "got_voucher", "treated_value": "yes",
                                 "covariates": ["age_years", "prior_orders", "region"]}
    go(at, "estimators")
    for box in at.checkbox:
        if box.key and box.key.startswith("use-") and box.key != "use-regression_adjustment":
            box.uncheck()
    at.run()
    next(b for b in at.button if b.label.startswith("Run ")).click().run()
    assert not at.exception, texts(at.exception)
    go(at, "report")
    next(t for t in at.text_input if t.label == "Name").input(name)
    next(b for b in at.button if b.label == "Save analysis").click().run()
    assert not at.exception, texts(at.exception)
    return {"id": at.session_state["last_saved"]}


def listed() -> dict:
    at = new_app().run()
    log_in(at, "vic")
    go(at, "saved")
    return {"names": [m.split("**")[1] for m in texts(at.markdown) if m.startswith("**")]}


if __name__ == "__main__":
    print(json.dumps(save(sys.argv[2]) if sys.argv[1] == "save" else listed()))
