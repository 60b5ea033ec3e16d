"""An app process killed mid-run (kill -9, as when a pod or its node dies) with two replicas on PostgreSQL.

The app has no separate worker processes yet (estimators run in the session's own server process), so the
process that dies mid-run is the app server itself. What must hold: nothing saved before is lost or
half-written, the browser's login carries over to the other replica (server-side sessions live in the
shared store), the user can upload and run again there at once, and the killed replica comes back on the
same store without any repair.
"""
from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pandas as pd
import pytest

from cqox_core.store import Store

from .conftest import USERS, AppServer, cqox_command, log_in, nav, no_exception

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def replicas(tmp_path, postgres_url):
    env = {**os.environ, "CQOX_DATABASE_URL": postgres_url, "CQOX_DATA_DIR": str(tmp_path / "setup")}
    for name in ("ana",):
        role, password = USERS[name]
        out = subprocess.run([*cqox_command(), "users", "add", name, "--role", role, "--password-stdin"],
                             input=password + "\n", capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr
    servers = []
    for label in ("a", "b"):
        server = AppServer(tmp_path / f"replica-{label}", tmp_path / f"replica-{label}.log")
        server.env["CQOX_DATABASE_URL"] = postgres_url
        server.start()
        servers.append(server)
    yield servers
    for server in servers:
        server.stop()


def go(page, title: str, marker) -> None:
    """Click a sidebar link until ``marker`` shows (a click that lands in a rerun can be lost)."""
    for attempt in range(3):
        nav(page, title)
        try:
            marker.wait_for(timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - retried, then raised
            if attempt == 2:
                raise


def upload_and_run(page, csv_path):
    go(page, "Upload", page.get_by_role("heading", name="Upload data").first)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv_path))
    page.get_by_text(re.compile(r"Read voucher_campaign\.csv: 5,000 rows")).first.wait_for()
    run = page.get_by_role("button", name=re.compile(r"^Run \d+ estimator\(s\)$"))
    go(page, "Estimators", run)
    return run


def test_a_replica_killed_mid_run_loses_nothing_saved_and_the_user_carries_on(open_page, replicas, postgres_url,
                                                                            tmp_path):
    rng = np.random.default_rng(11)
    n = 5_000
    prior = rng.poisson(3, n)
    treated = rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.25 * prior)))
    csv_path = tmp_path / "voucher_campaign.csv"
    pd.DataFrame({"got_voucher": np.where(treated, "yes", "no"),
                  "spend_after_90d": (20 + 2.5 * prior + 8.0 * treated + rng.normal(0, 5, n)).round(2),
                  "prior_orders": prior, "region": rng.choice(["north", "south"], n)}).to_csv(csv_path, index=False)

    a, b = replicas
    store = Store(tmp_path / "check", url=postgres_url)
    earlier = store.save_analysis("ana", "saved before the crash", {"headline": None, "results": {}, "n_rows": 1,
                                                                      "source": "x.csv"}, shared=True)
    page = open_page("/_stcore/health")  # a fresh context; the login happens on replica A
    page.goto(a.url + "/")
    log_in(page, "ana")
    run = upload_and_run(page, csv_path)
    # the bootstrap (200 refits of the headline method) keeps this run going for seconds: the kill lands in it
    page.get_by_test_id("stCheckbox").filter(has_text=re.compile(r"\(bootstrap\)")).first.click()
    run = page.get_by_role("button", name=re.compile(r"^Run \d+ estimator\(s\)$")).first
    no_exception(page)
    run.click()
    page.get_by_text(re.compile(r"^Running \d+ estimators")).first.wait_for()
    assert page.get_by_text(re.compile(r"estimators finished")).count() == 0
    os.kill(a.proc.pid, 9)  # mid-run: no shutdown handler, no cleanup
    a.proc.wait(timeout=30)
    a.proc = None

    # the same browser (same cookie) on the other replica: logged in without the form
    page.goto(b.url + "/saved")
    page.get_by_text("saved before the crash").first.wait_for()
    assert page.get_by_role("button", name="Login").count() == 0
    no_exception(page)
    # the run that died is simply not there; running again on this replica works
    run = upload_and_run(page, csv_path)
    n = int(re.search(r"\d+", run.inner_text()).group())
    run.click()
    page.get_by_text(f"{n} of {n} estimators finished").first.wait_for()
    no_exception(page)

    # nothing half-written: the saved analysis opens, the audit log is intact and still append-only
    assert store.get_analysis(earlier).name == "saved before the crash"
    actions = [r["action"] for r in store.audit_log()]
    # one run: replica B's; A's was cut off before it finished (its audit entry is written at the end)
    assert actions.count("run") == 1 and actions.count("upload") == 2
    # the killed replica restarts on the same store, with no repair step, and serves the same login
    a.start()
    page.goto(a.url + "/saved")
    page.get_by_text("saved before the crash").first.wait_for()
    assert page.get_by_role("button", name="Login").count() == 0
