"""App speed in a real browser (a benchmark, not a test; it never fails CI).

Measures, on a 10K-row upload of simulated confounded data:
- time from clicking Run to the first result shown (first finished estimator),
- time from clicking Run to all results,
- page switch time with cached results (Results <-> Gates <-> Visuals), until the
  script run is over and the page's title is drawn.

    .venv/bin/python bench/bench_app.py [--rows 10000] [--switches 6]

It starts its own server (streamlit run app.py) with a temporary data directory
and drives Debian's chromium with Playwright, as the browser tests do.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))
from conftest import CHROMIUM, CHROMIUM_ARGS, USERS, AppServer  # noqa: E402  (shared server/launch settings)


def simulate(n: int, path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6))
    t = rng.binomial(1, 1 / (1 + np.exp(-(X[:, 0] + 0.5 * X[:, 1]))))
    y = 2.0 * t + X @ np.array([1.0, 0.8, 0.5, 0.2, 0.0, -0.3]) + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=[f"feature_{i}" for i in range(6)])
    frame["got_offer"] = np.where(t == 1, "yes", "no")
    frame["revenue_after"] = y
    frame.to_csv(path, index=False)


def idle(page) -> None:
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=120_000)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--switches", type=int, default=6)
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "offer.csv"
        simulate(args.rows, data)
        server = AppServer(tmp_path / "data", tmp_path / "streamlit.log")
        server.start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                page.goto(server.url + "/upload")
                page.get_by_text("Log in to continue.").wait_for(timeout=120_000)
                page.get_by_role("textbox", name="Username").fill("admin")
                page.get_by_role("textbox", name="Password").fill(USERS["admin"][1])
                page.get_by_role("button", name="Login").click()
                page.get_by_test_id("stSidebar").get_by_text("admin · admin").wait_for(timeout=120_000)
                page.wait_for_timeout(1000)  # the run after login rewrites the cookie, then the page is idle
                idle(page)
                page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(data))
                page.get_by_text("Preview").wait_for(timeout=120_000)
                idle(page)
                page.locator('[data-testid="stSidebarNavLink"]', has_text="Estimators").click()
                run = page.get_by_role("button", name="Run")
                run.wait_for(timeout=120_000)
                idle(page)
                n_methods = run.inner_text()
                start = time.perf_counter()
                run.click()
                page.get_by_text(" ATE: ").first.wait_for(timeout=600_000)
                first = time.perf_counter() - start
                page.get_by_text("See the results").wait_for(timeout=600_000)
                idle(page)
                everything = time.perf_counter() - start
                switches = []
                titles = {"Results": "Results", "Gates": "Gates", "Visuals": "Visuals"}
                order = ["Results", "Gates", "Visuals"] * (args.switches // 3 + 1)
                for name in order[:args.switches + 3]:
                    t0 = time.perf_counter()
                    page.locator('[data-testid="stSidebarNavLink"]', has_text=name).click()
                    page.get_by_role("heading", name=titles[name], exact=True).wait_for(timeout=120_000)
                    idle(page)
                    switches.append(time.perf_counter() - t0)
                switches = switches[3:]  # the first visit of each page renders its figures once
                browser.close()
        finally:
            server.stop()
    print(f"# App speed in Chromium ({args.rows:,} rows, {n_methods.strip()})\n")
    print("| measure | seconds | aim |\n|---|---:|---:|")
    print(f"| click Run -> first result | {first:.2f} | < 2 |")
    print(f"| click Run -> all results | {everything:.2f} | |")
    print(f"| page switch with cached results (median of {len(switches)}) | {statistics.median(switches):.3f} | "
          f"< 0.3 |")
    print(f"| page switch, slowest | {max(switches):.3f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
