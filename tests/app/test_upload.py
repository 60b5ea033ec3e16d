"""Upload page: a CSV with unfamiliar column names is read into the session (needs cqox_core.data.load)."""
from __future__ import annotations

import pytest

from cqox_core.store import Store

from .conftest import campaign_frame, log_in, new_app, texts


def test_uploading_a_csv_reads_it_and_resets_derived_state(data_dir):
    at = new_app().run()
    log_in(at, "ana")
    at.session_state["analysis"] = {"results": {}}  # from a previous file: must be dropped
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, texts(at.exception)
    raw = campaign_frame().to_csv(index=False).encode()
    at.file_uploader[0].upload("voucher_campaign.csv", raw, "text/csv").run()
    assert not at.exception, texts(at.exception)
    ds = at.session_state["dataset"]
    assert (ds.n_rows, ds.n_cols) == (600, 5)
    assert list(ds.frame.columns) == ["age_years", "prior_orders", "region", "got_voucher", "spend_after_90d"]
    assert "analysis" not in at.session_state
    assert any(s.startswith("Read **voucher_campaign.csv**: 600 rows × 5 columns") for s in texts(at.success))
    uploads = [r for r in Store(data_dir).audit_log() if r["action"] == "upload"]
    assert len(uploads) == 1 and uploads[0]["detail"]["rows"] == 600


def test_a_file_that_cannot_be_read_shows_a_typed_error(data_dir):
    at = new_app().run()
    log_in(at, "ana")
    at.switch_page("app_pages/upload.py").run()
    at.file_uploader[0].upload("broken.csv", b"\xff\xfe\x00garbage\x00\x00", "text/csv").run()
    assert not at.exception, texts(at.exception)
    errors = texts(at.error)
    assert len(errors) == 1 and errors[0].startswith("The file could not be used: ") and "`E-" in errors[0]
    assert "dataset" not in at.session_state


def test_a_demo_dataset_can_be_chosen_instead_of_a_file(data_dir):
    at = new_app().run()
    log_in(at, "ana")
    at.switch_page("app_pages/upload.py").run()
    assert not at.exception, texts(at.exception)
    options = at.selectbox[0].options
    if "Marketing" not in options:
        pytest.skip("assets/demo_marketing.csv is not there")
    at.selectbox[0].set_value("Marketing").run()
    assert not at.exception, texts(at.exception)
    assert at.session_state["dataset"].source == "demo_marketing.csv"
    # assets/DEMO_DATA.md: outcome spend_next_30d; the potential-outcome trap column must stay out
    at.switch_page("app_pages/mapping.py").run()
    assert not at.exception, texts(at.exception)
    roles = at.session_state["roles"]
    assert (roles["outcome"], roles["treatment"]) == ("spend_next_30d", "received_coupon")
    assert "spend_next_30d_if_no_coupon" not in roles["covariates"]
