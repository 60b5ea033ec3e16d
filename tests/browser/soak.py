"""Many users at once: N concurrent browser sessions against one `streamlit run app.py` server, for a while.

    python tests/browser/soak.py --sessions 10 --seconds 60 --min-rounds 2 --out soak.json  # test_soak.py
    python tests/browser/soak.py --sessions 20 --seconds 600 --out soak.json    # the benchmark version

Each session is its own user in its own browser context (Debian's chromium, one browser, async Playwright).
In a loop until the time is up (and at least --min-rounds times) it uploads a file, runs the default battery, reads the headline on Results and
switches to Gates and Visuals. Every session's files have the same name and shape (``campaign.csv``,
400 rows x 5 columns) but their own true effect (``effect_of(i)``, 5 apart), alternating between two seeds,
so a result that leaked from another session, or from a cache keyed on name and shape, is seen as a wrong
number. The server's resident memory is sampled every few seconds. Traffic goes to 127.0.0.1 only, the loop
is bounded by the deadline, and the server is stopped at the end.

Output (JSON): per-session iterations and failures, the headline estimates seen, latencies (run to all
results, page switch), and the memory curve [(seconds since start, RSS MB)].
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]
from conftest import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

PASSWORD = "soak-pass-123"
WAIT_MS = 120_000
HEADLINE = re.compile(r"got_voucher (raises|lowers) spend_after_90d by ([0-9.,e+-]+)")


def effect_of(session: int) -> float:
    return 5.0 + 5.0 * session


def write_files(root: Path, session: int) -> list[Path]:
    """Two files per session, both named campaign.csv, 400 rows x 5 columns, true effect effect_of(session)."""
    out = []
    for variant in (0, 1):
        rng = np.random.default_rng(1000 * session + variant)
        n = 400
        age = rng.integers(18, 80, n)
        prior = rng.poisson(3, n)
        region = rng.choice(["north", "south", "east", "west"], n)
        treated = rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 0.25 * prior + 0.01 * (age - 45))))
        spend = (20 + 2.5 * prior + 0.2 * age + (region == "west") * 3 + effect_of(session) * treated
                 + rng.normal(0, 1.0, n))
        folder = root / f"s{session}-v{variant}"
        folder.mkdir(parents=True)
        path = folder / "campaign.csv"
        pd.DataFrame({"got_voucher": np.where(treated, "yes", "no"), "spend_after_90d": spend.round(3),
                      "age_years": age, "prior_orders": prior, "region": region}).to_csv(path, index=False)
        out.append(path)
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def settle(page) -> None:
    await page.wait_for_timeout(300)
    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)


async def nav(page, title: str) -> None:
    await page.locator('[data-testid="stSidebarNavLink"]').filter(
        has_text=re.compile(rf"{re.escape(title)}$")).click()


async def open_page(page, title: str, marker) -> None:
    """Click the sidebar link and wait for ``marker``; click again if the click fell into a rerun and was
    lost (seen on a loaded machine right after the login's rerun)."""
    for attempt in range(4):
        await nav(page, title)
        try:
            await marker.wait_for(timeout=30_000 if attempt < 3 else WAIT_MS)
            return
        except Exception:  # noqa: BLE001 - retried, then raised
            if attempt == 3:
                raise


async def no_exception(page) -> None:
    await settle(page)
    shown = page.locator('[data-testid="stException"]')
    if await shown.count():
        raise AssertionError(f"exception shown: {await shown.all_inner_texts()}")


async def log_in(page, username: str) -> None:
    await page.get_by_text("Log in to continue.").first.wait_for()
    who = page.get_by_test_id("stSidebar").get_by_text(f"{username} · analyst").first
    for attempt in range(3):
        await page.get_by_role("textbox", name="Username").fill(username)
        await page.get_by_role("textbox", name="Password").fill(PASSWORD)
        await page.get_by_role("button", name="Login").click()
        try:
            await who.wait_for(timeout=60_000)
            return
        except Exception:  # noqa: BLE001 - on a loaded machine a click during a rerun can be lost
            if attempt == 2:
                raise


async def one_session(browser, url: str, session: int, files: list[Path], deadline: float, report: dict) -> None:
    mine = report["sessions"][session]
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    try:
        await page.goto(url + "/")
        await log_in(page, f"soak{session}")
        # at least min_rounds rounds each, so the memory curve has a warm stretch after the first round
        while time.monotonic() < deadline or mine["iterations"] < report["min_rounds"]:
            path = files[mine["iterations"] % 2]
            await open_page(page, "Upload", page.get_by_role("heading", name="Upload data").first)
            await page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
            # this very file, not the previous one still shown: the page prints the dataset's sha256
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            await page.get_by_text(f"sha256 {digest}").first.wait_for()
            await page.get_by_text("Read campaign.csv: 400 rows × 5 columns").first.wait_for()
            mine["uploads"].append(digest[:12])
            run = page.get_by_role("button", name=re.compile(r"^Run \d+ estimator\(s\)$"))
            await open_page(page, "Estimators", run)
            await settle(page)
            n = int(re.search(r"\d+", await run.inner_text()).group())
            started = time.monotonic()
            await run.click()
            await page.get_by_text(f"{n} of {n} estimators finished").first.wait_for()
            mine["run_seconds"].append(time.monotonic() - started)
            head = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^Headline \(\w+\):")).first
            markers = {"Results": head,
                       "Gates": page.get_by_test_id("stMetric").filter(has_text="Causal Assurance Score").first,
                       "Visuals": page.get_by_text(re.compile(r"^\d+ figures for this analysis")).first}
            for title, marker in markers.items():
                started = time.monotonic()
                await open_page(page, title, marker)
                if title == "Results":
                    found = HEADLINE.search(await head.inner_text())
                    if not found:
                        raise AssertionError(f"no headline sentence: {await head.inner_text()}")
                    sign = -1.0 if found.group(1) == "lowers" else 1.0
                    mine["estimates"].append(sign * float(found.group(2).replace(",", "")))
                await settle(page)
                mine["switch_seconds"].append(time.monotonic() - started)
            await no_exception(page)
            mine["iterations"] += 1
            mine["done_at"].append(round(time.monotonic() - report["start"], 1))
    except Exception as exc:  # noqa: BLE001 - recorded, the test fails on any
        mine["failures"].append(f"{type(exc).__name__}: {str(exc)[:500]}")
        try:
            shot = Path(report["artifacts"]) / f"soak-session-{session}.png"
            await page.screenshot(path=str(shot), full_page=True)
        except Exception:  # noqa: BLE001 - a closed page must not hide the failure itself
            pass
    finally:
        await context.close()


async def sample_memory(pid: int, start: float, stop: asyncio.Event, curve: list, every: float) -> None:
    while not stop.is_set():
        curve.append((round(time.monotonic() - start, 1), round(rss_mb(pid), 1)))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
    curve.append((round(time.monotonic() - start, 1), round(rss_mb(pid), 1)))


async def drive(server: AppServer, sessions: int, seconds: float, files: dict[int, list[Path]], report: dict) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        start = report["start"] = time.monotonic()
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(server.proc.pid, start, stop, report["memory_mb"], 5.0))
        deadline = start + seconds
        await asyncio.gather(*(one_session(browser, server.url, i, files[i], deadline, report)
                               for i in range(sessions)))
        stop.set()
        await sampler
        report["wall_seconds"] = round(time.monotonic() - start, 1)
        await browser.close()


def run(sessions: int, seconds: float, artifacts: Path, min_rounds: int = 1) -> dict:
    from cqox_core.store import Store
    from cqox_core.users import UserStore

    artifacts.mkdir(parents=True, exist_ok=True)
    report: dict = {"sessions": {i: {"iterations": 0, "failures": [], "estimates": [], "uploads": [], "run_seconds": [],
                                     "switch_seconds": [], "done_at": [], "true_effect": effect_of(i)} for i in range(sessions)},
                    "memory_mb": [], "artifacts": str(artifacts), "planned_seconds": seconds, "min_rounds": min_rounds}
    with tempfile.TemporaryDirectory(prefix="cqox-soak-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        users = UserStore(store=Store(data_dir, url=f"sqlite:///{data_dir / 'cqox.sqlite3'}"))
        for i in range(sessions):
            users.add(f"soak{i}", PASSWORD, role="analyst")
        files = {i: write_files(root / "files", i) for i in range(sessions)}
        server = AppServer(data_dir, root / "streamlit.log")
        server.env.pop("CQOX_DATABASE_URL", None)
        server.start()
        try:
            asyncio.run(drive(server, sessions, seconds, files, report))
            report["server_alive"] = server.proc.poll() is None
        finally:
            server.stop()
            (artifacts / "soak-streamlit.log").write_text(server.log_tail(200_000))
    runs = [x for s in report["sessions"].values() for x in s["run_seconds"]]
    switches = [x for s in report["sessions"].values() for x in s["switch_seconds"]]
    report["summary"] = {
        "iterations": sum(s["iterations"] for s in report["sessions"].values()),
        "run_median_s": round(statistics.median(runs), 2) if runs else None,
        "switch_median_s": round(statistics.median(switches), 2) if switches else None,
        "switch_p90_s": round(sorted(switches)[int(0.9 * (len(switches) - 1))], 2) if switches else None,
    }
    return report


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--min-rounds", type=int, default=1, help="rounds each session does at least")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--artifacts", type=Path, default=HERE.parents[1] / "test-artifacts")
    args = parser.parse_args(argv)
    report = run(args.sessions, args.seconds, args.artifacts, args.min_rounds)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
