"""Browser tests: a real `streamlit run app.py` server and Debian's chromium driven by Playwright.

- ``app_server`` (session): the server on a free loopback port, with its own
  CQOX_DATA_DIR, users created beforehand with the ``cqox users`` command;
  ``restart()`` stops it by PID and starts it again on the same data directory.
- ``open_page`` (per test): pages in fresh browser contexts (no cookies);
  when a test fails, each page's full-page screenshot goes to test-artifacts/.

Chromium is launched as shared/BROWSER_TESTS.md says (never `playwright install`);
scripts/install_browser.sh installs it when /usr/bin/chromium is missing.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--no-first-run", "--disable-extensions", "--disable-sync", "--mute-audio",
                 "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
USERS = {"admin": ("admin", "admin-pass-123"), "ana": ("analyst", "analyst-pass-1"),
         "vic": ("viewer", "viewer-pass-1")}
#: how long a page may take to show what a test waits for (2 shared cores, cold caches)
WAIT_MS = 60_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cqox_command() -> list[str]:
    script = Path(sys.executable).with_name("cqox")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cqox_core.cli"]


def wait_healthy(url: str, proc: subprocess.Popen | None, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url}/_stcore/health did not answer 200 within {timeout:.0f} s")


class AppServer:
    """`streamlit run app.py` on 127.0.0.1, stopped by its PID."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        #: the process serves Prometheus metrics here from its first browser session on (tests/browser/test_auth.py)
        self.metrics_port = free_port()
        self.env = {**os.environ, "CQOX_DATA_DIR": str(data_dir), "CQOX_ADMIN_USER": "admin",
                    "CQOX_METRICS_PORT": str(self.metrics_port),
                    "CQOX_ADMIN_PASSWORD": USERS["admin"][1], "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(self.port),
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        try:
            wait_healthy(self.url, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError("the app did not start; its log:\n" + self.log_path.read_text()[-4000:]) from None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again with the same data directory (same port if it is free again)."""
        self.stop()
        try:
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", self.port))
        except OSError:
            self.port = free_port()
        self.start()

    def log_tail(self, n: int = 3000) -> str:
        return self.log_path.read_text()[-n:] if self.log_path.exists() else ""


@pytest.fixture(scope="session")
def playwright_api():
    # Browser tests must run, never skip: `make test` installs chromium and the playwright package.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_api):
    browser = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory, playwright_api) -> Iterator[AppServer]:
    base = tmp_path_factory.mktemp("browser")
    data_dir = base / "cqox-data"
    # the users exist before the first start, created the way an operator would: `cqox users add`
    for name, (role, password) in USERS.items():
        out = subprocess.run([*cqox_command(), "users", "add", name, "--role", role, "--password-stdin"],
                             input=password + "\n", capture_output=True, text=True, timeout=120,
                             env={**os.environ, "CQOX_DATA_DIR": str(data_dir)})
        assert out.returncode == 0, out.stdout + out.stderr
    server = AppServer(data_dir, base / "streamlit.log")
    server.start()
    yield server
    server.stop()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def open_page(request: pytest.FixtureRequest, browser, app_server: AppServer) -> Iterator[Callable]:
    """``open_page(path)``: a page in a fresh context (no cookies) at app_server.url + path.

    ``component_delay_s`` delays each custom component's page (the authenticator's cookie manager).
    """
    contexts, pages = [], []

    def make(path: str = "/", component_delay_s: float = 0.0):
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        context.set_default_timeout(WAIT_MS)
        if component_delay_s:
            def late(route):
                # a slow link, for the iframes of custom components only (one page per component)
                if "/index.html" in route.request.url:
                    time.sleep(component_delay_s)
                route.continue_()
            context.route("**/component/**", late)
        page = context.new_page()
        contexts.append(context)
        pages.append(page)
        page.goto(app_server.url + path)
        return page

    yield make
    failed = any(getattr(request.node, f"report_{when}", None) is not None
                 and getattr(request.node, f"report_{when}").failed for when in ("setup", "call"))
    if failed:
        ARTIFACTS.mkdir(exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        for i, page in enumerate(pages):
            try:
                page.screenshot(path=str(ARTIFACTS / f"{stem}-{i}.png"), full_page=True)
            except Exception as exc:  # noqa: BLE001 - a closed page must not hide the test's own failure
                print(f"screenshot {i} failed: {exc}")
        shutil.copy(app_server.log_path, ARTIFACTS / f"{stem}-streamlit.log")
    for context in contexts:
        context.close()


# -- helpers for the tests ----------------------------------------------------------------------------

def log_in(page, username: str) -> None:
    """Fill streamlit-authenticator's form and wait until the sidebar shows who is logged in."""
    # The caption is drawn after the form in the same run, so the form is complete when it shows.
    page.get_by_text("Log in to continue.").first.wait_for()
    who = page.get_by_test_id("stSidebar").get_by_text(f"{username} · {USERS[username][0]}").first
    for attempt in range(3):
        page.get_by_role("textbox", name="Username").fill(username)
        page.get_by_role("textbox", name="Password").fill(USERS[username][1])
        page.get_by_role("button", name="Login").click()
        try:
            who.wait_for(timeout=30_000)
            return
        except Exception:  # noqa: BLE001 - on a loaded machine a click during a rerun can be lost
            if attempt == 2 or page.get_by_role("button", name="Login").count() == 0:
                raise


def settle(page, quiet_ms: int = 300) -> None:
    """Wait until the script run is over (Streamlit's running indicator gone)."""
    page.wait_for_timeout(quiet_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)


def no_exception(page) -> None:
    settle(page)
    shown = page.locator('[data-testid="stException"]')
    assert shown.count() == 0, shown.all_inner_texts()


def nav(page, title: str) -> None:
    """Click the sidebar link whose label is ``title``."""
    page.locator('[data-testid="stSidebarNavLink"]').filter(
        has_text=re.compile(rf"{re.escape(title)}$")).click()


def charts_drawn(page, at_least: int = 1) -> int:
    """Plotly charts that have drawn their SVG; waits for ``at_least`` of them."""
    drawn = page.locator('[data-testid="stPlotlyChart"] .main-svg >> nth=0')
    drawn.wait_for()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        n = sum(1 for i in range(charts.count()) if charts.nth(i).locator(".main-svg").count())
        if n >= at_least:
            return n
        time.sleep(0.2)
    raise AssertionError(f"fewer than {at_least} Plotly charts drew")
