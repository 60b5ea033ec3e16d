"""The machinery shared by the benchmarks in bench/: fresh worker processes with a
timeout, the timed call and its peak RSS, best-of-N, machine information and the
markdown helpers.

A benchmark script calls :func:`run_cell` (or :func:`best_of`) with a spec; that
starts the same script again with ``--worker SPEC_JSON`` in its own session, and
the script's worker hands its estimation call to :func:`timed_call`, which
resets the kernel's peak-RSS mark, times only that call and reads the peak.
:func:`worker_main` writes the worker's outcome (or the exception it raised) to
the JSON file named in the spec, so a failing method is a result, not a crash.

Nothing here asserts on timing: benchmarks never fail CI.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import platform
import resource
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# --------------------------------------------------------------------------- in the worker

def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> bool:
    """Lower the kernel's peak-RSS mark to the current RSS (Linux >= 4.0).

    Without this, a transient peak from simulating the data or the warm-up
    would hide any call that uses less memory than that peak.
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def limit_memory(fraction: float = 0.5) -> float | None:
    """Cap this process's address space at ``fraction`` of physical memory (RLIMIT_AS); the cap in MB.

    On a shared machine without swap, one cell that grows without bound would
    otherwise bring in the kernel's OOM killer, which may pick another process.
    With the cap the allocation fails inside the worker, as a MemoryError that
    the report shows as the cell's error.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        cap = int(total * fraction)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ValueError, OSError, AttributeError):
        return None
    return cap / 2 ** 20


def timed_call(call: Callable[[], tuple[Any, ...]]) -> dict[str, Any]:
    """Collect garbage, reset the peak-RSS mark, then time ``call()`` alone and measure its peak.

    ``call`` returns (estimate, standard error or None), optionally followed by a dict of
    other numbers to keep (stored under "extra").
    """
    gc.collect()
    lifetime_peak_before = peak_rss_mb()
    peak_was_reset = reset_peak_rss()
    baseline = peak_rss_mb()
    start = time.perf_counter()
    estimate, std_error, *extra = call()
    seconds = time.perf_counter() - start
    peak = peak_rss_mb()
    outcome = {"status": "ok", "seconds": seconds, "estimate": estimate, "std_error": std_error,
               "peak_mb": peak, "peak_delta_mb": peak - baseline, "baseline_mb": baseline,
               "peak_reset": peak_was_reset, "lifetime_peak_before_mb": lifetime_peak_before}
    return {**outcome, "extra": extra[0]} if extra else outcome


def worker_main(spec_json: str, worker: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """Run one cell's worker and write its outcome to ``spec["out"]``."""
    spec = json.loads(spec_json)
    try:
        outcome = worker(spec)
    except Exception as exc:  # a failing method is a result of the benchmark, not a crash of it
        outcome = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
    Path(spec["out"]).write_text(json.dumps(outcome))
    return 0


# --------------------------------------------------------------------------- in the driver

def run_cell(script: str | Path, spec: dict[str, Any], timeout: float, scratch: Path) -> dict[str, Any]:
    """Run ``script --worker SPEC`` in a fresh process; kill its whole process group on timeout."""
    out = scratch / f"{spec['side']}-{spec['method']}-{spec['n']}.json"
    spec = {**spec, "out": str(out)}
    cmd = [sys.executable, str(Path(script).resolve()), "--worker", json.dumps(spec)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"status": "timeout"}
    if out.exists():
        return json.loads(out.read_text())
    tail = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {proc.returncode}"
    return {"status": "error", "error": f"worker died: {tail}"}


def best_of(script: str | Path, spec: dict[str, Any], repeat: int, timeout: float,
            scratch: Path) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh workers (the minimum is the least noisy time on a busy machine)."""
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        runs.append(run_cell(script, spec, timeout, scratch))
        if runs[-1]["status"] != "ok":
            return runs[-1]
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "repeats": repeat, "all_seconds": [r["seconds"] for r in runs]}


def add_run_options(parser: "argparse.ArgumentParser", choices: Sequence[str], default_out: Path) -> None:
    """The options both benchmarks share (methods, timeout, seed, repeat, peers, warm-up, extras, out)."""
    parser.add_argument("--methods", help=f"comma-separated subset of: {', '.join(choices)}")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per cell (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each cell in this many fresh workers and keep the fastest (default 1)")
    parser.add_argument("--no-peers", action="store_true", help="run the CQOx side only")
    parser.add_argument("--no-warmup", action="store_true", help="time the first call, imports included")
    parser.add_argument("--no-extras", action="store_true",
                        help="call cq.estimate with with_gates=False, with_sensitivity=False")
    parser.add_argument("--out", type=Path, default=default_out, help="markdown report path")


def check_run_options(parser: "argparse.ArgumentParser", args: "argparse.Namespace",
                      choices: Sequence[str]) -> None:
    args.methods = [m.strip() for m in args.methods.split(",")] if args.methods else list(choices)
    if args.repeat < 1 or args.timeout <= 0:
        parser.error("--repeat must be at least 1 and --timeout positive")
    unknown = [m for m in args.methods if m not in choices]
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(choices)}")


def measurement_note(args: "argparse.Namespace", warmup: str) -> str:
    """How the seconds and megabytes were measured (the same for every benchmark)."""
    return ("Seconds: the estimation call only (data simulated in the worker beforehand, after a warm-up "
            f"call on {warmup}{'' if not args.no_warmup else ' [warm-up disabled]'})"
            + (f"; fastest of {args.repeat} fresh workers. " if args.repeat > 1 else ". ") +
            "Peak MB: growth of peak RSS during the call / absolute peak RSS of the worker process. "
            "CQOx calls `cq.estimate` as a user would"
            + (" (gates and sensitivity included)." if not args.no_extras else
               " with gates and sensitivity switched off (--no-extras)."))


def parse_size(text: str) -> int:
    text = text.strip().upper().replace("_", "")
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    return f"{n // 1_000}K" if n >= 1_000 and n % 1_000 == 0 else str(n)


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def describe(cell: dict[str, Any]) -> str:
    if cell["status"] == "ok":
        return f"{cell['seconds']:.3g} s, +{cell['peak_delta_mb']:.0f} MB, estimate {cell['estimate']:.4f}"
    return cell["status"] + (f" ({cell['error']})" if "error" in cell else "")


# --------------------------------------------------------------------------- machine information

def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def blas_summary() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    pools = {(p["internal_api"], p.get("num_threads")) for p in threadpool_info()}
    return ", ".join(f"{api} ({threads} threads)" for api, threads in sorted(pools, key=str))


def machine_info(packages: Sequence[str]) -> list[str]:
    """Markdown bullet lines: date, CPU, Python and ``packages`` versions, BLAS pools, thread variables, commit."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = {k: os.environ.get(k, "(unset)") for k in
           ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    versions = ", ".join(f"{p} {package_version(p)}" for p in packages)
    return [
        f"- Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Machine: {cpu_model()}; {os.cpu_count()} cores ({usable} usable by this process); "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
        f"- BLAS / OpenMP: {blas_summary()}",
        "- Environment (left as found): " + ", ".join(f"{k}={v}" for k, v in env.items()),
        f"- CQOx commit: {git_revision()}",
    ]


# --------------------------------------------------------------------------- markdown

def fmt_seconds(cell: dict[str, Any]) -> str:
    return f"{cell['seconds']:.3g}" if cell["status"] == "ok" else cell["status"]


def fmt_memory(cell: dict[str, Any]) -> str:
    return f"+{cell['peak_delta_mb']:.0f} / {cell['peak_mb']:.0f}" if cell["status"] == "ok" else ""


def fmt_estimate(cell: dict[str, Any]) -> str:
    if cell["status"] != "ok":
        return ""
    se = cell.get("std_error")
    return f"{cell['estimate']:.4f}" + (f" ({se:.4f})" if se is not None and math.isfinite(se) else "")


def fmt_ratio(cqox: dict[str, Any], peer: dict[str, Any], spec: str = ".2f") -> str:
    """CQOx time over peer time, when both ran (``spec`` is the number's format, e.g. ".3g")."""
    both = cqox["status"] == "ok" and peer["status"] == "ok"
    return f"{cqox['seconds'] / peer['seconds']:{spec}}x" if both and peer["seconds"] > 0 else ""


def fmt_difference(cqox: dict[str, Any], peer: dict[str, Any]) -> str:
    """CQOx estimate minus peer estimate, when both ran."""
    both = cqox["status"] == "ok" and peer["status"] == "ok"
    return f"{cqox['estimate'] - peer['estimate']:+.2e}" if both else ""


def markdown_table(header: Sequence[str], align: str, rows: Sequence[Sequence[str]]) -> list[str]:
    """Lines of a markdown table; ``align`` has one letter per column: l (left) or r (right).

    A "|" inside a cell (a formula such as "y ~ d | unit + time") is escaped so it stays in its cell.
    """
    rule = {"l": "---", "r": "---:"}
    line = lambda cells: "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"  # noqa: E731
    return [line(header), "|" + "|".join(rule[a] for a in align) + "|", *(line(row) for row in rows)]


def write_outputs(out: Path, text: str, raw: dict[str, Any]) -> None:
    """Print the report, write it to ``out`` and the raw numbers to the .json beside it."""
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str))
    progress(f"Written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} and its .json beside it.")
