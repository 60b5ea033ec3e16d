"""What a person sees in a real browser: the analyst's walk, a shared link after a restart,
deep links through the login, and refusals by role.

Each test is self-contained (its own fresh browser contexts), so the suite can
also run under pytest-xdist; the shared-link test restarts its worker's server.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import WAIT_MS, charts_drawn, cqox_command, log_in, nav, no_exception, settle

# one xdist worker runs them all (with --dist loadgroup): one server and one chromium, not two
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ROLES = {"outcome": "spend_after_90d", "treatment": "got_voucher", "covariates": "age_years,prior_orders,region"}
#: the headline sentence of the app and the HTML report (cqox_core.report.sentence, 4 significant digits)
HEADLINE = re.compile(r"got_voucher (raises|lowers) spend_after_90d by ([0-9.,e+-]+)")


@pytest.fixture(scope="module")
def campaign_csv(tmp_path_factory) -> Path:
    """A voucher campaign whose column names the mapper has not seen in its tests; true effect 8."""
    rng = np.random.default_rng(11)
    n = 800
    age = rng.integers(18, 80, n)
    prior = rng.poisson(3, n)
    region = rng.choice(["north", "south", "east", "west"], n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.25 * prior + 0.01 * (age - 45))))
    spend = 20 + 2.5 * prior + 0.2 * age + (region == "west") * 3 + 8.0 * treated + rng.normal(0, 5, n)
    frame = pd.DataFrame({"got_voucher": np.where(treated, "yes", "no"), "spend_after_90d": spend.round(2),
                          "age_years": age, "prior_orders": prior, "region": region})
    path = tmp_path_factory.mktemp("upload") / "voucher_campaign.csv"
    frame.to_csv(path, index=False)
    return path


def markdown(page, pattern: str):
    """The first Markdown block whose text matches ``pattern``."""
    return page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(pattern)).first


def cli_estimate(method: str, path: Path) -> dict:
    out = subprocess.run([*cqox_command(), "estimate", method, str(path), "--outcome", ROLES["outcome"],
                          "--treatment", ROLES["treatment"], "--covariates", ROLES["covariates"], "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def signed(direction: str, number: str) -> str:
    return ("-" if direction == "lowers" else "") + number.replace(",", "")


def cli_text(estimate: float) -> str:
    """The CLI's number written the way the app writes it (sign from 'raises'/'lowers')."""
    return ("-" if estimate < 0 else "") + f"{abs(estimate):.4g}"


def test_analyst_walk_then_viewer_opens_the_shared_link_after_a_restart(open_page, app_server, campaign_csv):
    # (a) a new analyst (created with `cqox users add`) logs in and uploads a file with unfamiliar names
    page = open_page("/")
    log_in(page, "ana")
    nav(page, "Upload")
    page.get_by_role("heading", name="Upload data").first.wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(campaign_csv))
    page.get_by_text("Read voucher_campaign.csv: 800 rows × 5 columns").first.wait_for()
    no_exception(page)

    # the automatic mapping is shown and accepted as is
    nav(page, "Mapping")
    page.get_by_role("heading", name="Column roles").first.wait_for()
    page.get_by_text(re.compile(r"\d+ estimators can run with these roles")).first.wait_for()
    for label, column in (("Outcome", "spend_after_90d"), ("Treatment", "got_voucher")):
        assert page.get_by_role("combobox", name=label, exact=True).input_value() == column, label
    no_exception(page)

    nav(page, "Estimators")
    run = page.get_by_role("button", name=re.compile(r"^Run \d+ estimator\(s\)$"))
    run.wait_for()
    settle(page)
    n_methods = int(re.search(r"\d+", run.inner_text()).group())
    assert n_methods >= 5
    run.click()
    page.get_by_text(f"{n_methods} of {n_methods} estimators finished").first.wait_for()
    no_exception(page)

    nav(page, "Results")
    headline = markdown(page, r"^Headline \(\w+\):")
    headline.wait_for()
    method = re.search(r"Headline \((\w+)\)", headline.inner_text()).group(1)
    shown = HEADLINE.search(headline.inner_text())
    assert shown, headline.inner_text()
    charts_drawn(page, 1)  # forest plot
    no_exception(page)

    nav(page, "Gates")
    page.get_by_role("heading", name="Gates").first.wait_for()
    page.get_by_test_id("stMetric").filter(has_text="Causal Assurance Score").wait_for()
    assert page.get_by_test_id("stMetric").filter(has_text="Pass").count() == 1
    charts_drawn(page, 2)  # diagnostics and the CAS radar
    no_exception(page)

    nav(page, "Visuals")
    caption = page.get_by_text(re.compile(r"^\d+ figures for this analysis"))
    caption.wait_for()
    n_figures = int(re.match(r"\d+", caption.inner_text()).group())
    assert n_figures >= 1
    assert charts_drawn(page, n_figures) == n_figures
    no_exception(page)

    nav(page, "Decision & report")
    page.get_by_role("heading", name="Save and share").first.wait_for()
    settle(page)
    with page.expect_download(timeout=WAIT_MS) as download_info:
        page.get_by_test_id("stDownloadButton").filter(has_text="HTML report").locator("button").click()
    report = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert f"<b>Headline ({method}):</b>" in report
    in_report = HEADLINE.search(report)
    assert in_report and in_report.groups() == shown.groups()
    page.get_by_role("button", name="Save analysis").click()
    link = page.get_by_test_id("stCode").filter(has_text="/saved?analysis=")
    link.wait_for()
    path = link.inner_text().strip()
    assert re.fullmatch(r"/saved\?analysis=[A-Za-z0-9_-]{16}", path), path
    no_exception(page)

    # (b) after a restart, a viewer opens the link in a fresh context and sees the same headline
    app_server.restart()
    viewer = open_page(path)
    log_in(viewer, "vic")
    viewer.get_by_role("heading", name=f"voucher_campaign.csv — {method}").first.wait_for()
    saved = markdown(viewer, r"^Headline:")
    saved.wait_for()
    seen = HEADLINE.search(saved.inner_text())
    assert seen and seen.groups() == shown.groups()
    no_exception(viewer)
    with viewer.expect_download(timeout=WAIT_MS) as download_info:
        viewer.get_by_test_id("stDownloadButton").filter(has_text="HTML report").locator("button").click()
    saved_report = Path(download_info.value.path()).read_text(encoding="utf-8")
    in_saved_report = HEADLINE.search(saved_report)
    assert in_saved_report and in_saved_report.groups() == shown.groups()

    # the CLI on the same file, same roles, gives the same number to 4 significant digits
    cli = cli_estimate(method, campaign_csv)
    assert signed(*seen.groups()) == cli_text(cli["estimate"]), (seen.groups(), cli["estimate"])
    assert abs(cli["estimate"] - 8.0) < 4 * cli["std_error"]  # and it is near the truth (loose: SE-based)


def test_a_deep_link_opened_before_login_lands_on_that_page_after_it(open_page):
    page = open_page("/gates")
    page.get_by_role("button", name="Login").first.wait_for()
    assert page.get_by_test_id("stSidebarNavLink").count() == 0  # nothing but the form while logged out
    log_in(page, "ana")
    page.get_by_text("No estimates yet: choose and run estimators first.").first.wait_for()
    assert page.url.rstrip("/").endswith("/gates"), page.url
    active = page.locator('[data-testid="stSidebarNavLink"][aria-current="page"]')
    assert re.search(r"Gates$", active.inner_text())
    no_exception(page)


def test_the_login_survives_a_reload_on_a_slow_link(open_page):
    """The authenticator writes its cookie from a component iframe in the run of the login. Each
    component page arrives 0.8 s late here (a slow link): the cookie must still be written, and a
    reload must keep the user logged in on the same page."""
    page = open_page("/gates", component_delay_s=0.8)
    log_in(page, "ana")
    page.get_by_text("No estimates yet: choose and run estimators first.").first.wait_for()
    deadline = time.monotonic() + 10
    while not any(c["name"] == "cqox_auth" for c in page.context.cookies()) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert any(c["name"] == "cqox_auth" for c in page.context.cookies()), (
        "the login cookie was never written: the run that logs in ends in st.rerun() (app.py) before the "
        "browser has run the authenticator's cookie component")
    page.reload()
    page.get_by_text("No estimates yet: choose and run estimators first.").first.wait_for()
    assert page.get_by_role("button", name="Login").count() == 0
    assert page.url.rstrip("/").endswith("/gates"), page.url


def test_a_viewer_opening_estimators_by_url_is_refused(open_page):
    page = open_page("/estimators")
    log_in(page, "vic")
    page.get_by_text("Your role (viewer) cannot open Estimators.").first.wait_for()
    settle(page)
    assert page.get_by_role("button", name=re.compile(r"^Run ")).count() == 0
    assert page.get_by_test_id("stCheckbox").count() == 0
    links = [t.split("\n")[-1] for t in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]
    assert links == ["Home", "Saved analyses"], links
    no_exception(page)


def test_the_admin_page_is_there_for_the_admin_only(open_page):
    page = open_page("/admin")
    log_in(page, "admin")
    page.get_by_role("heading", name="Admin").first.wait_for()
    page.get_by_role("heading", name="Audit log").first.wait_for()
    no_exception(page)
    other = open_page("/admin")
    log_in(other, "ana")
    other.get_by_text("Your role (analyst) cannot open Admin.").first.wait_for()
    assert other.get_by_role("heading", name="Admin").count() == 0
