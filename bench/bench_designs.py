"""Speed and memory of the quasi-experimental designs, each beside a peer library
doing the same job on the same data in the same run.

    .venv/bin/python bench/bench_designs.py            # 10K, 100K, 1M rows; 50, 200, 1000 donors
    .venv/bin/python bench/bench_designs.py --quick    # 10K rows; 50 donors

Cross-sections (iv, rd, its) have 10K, 100K and 1M rows; panels (did,
event_study, staggered_did, panel_matching) have 1K, 10K and 100K units x 10
periods, the same row counts; synthetic control has 50, 200 and 1000 donors x
30 periods, because its cost is one refit per donor (the placebo runs), not
rows. Every cell runs in a fresh worker process (this script with --worker),
which simulates the data from the seed, warms up on small data, and times only
the estimation call (bench/harness.py).

This is a benchmark, not a test: it never asserts on timing and CI never runs
it (pytest collects tests/ only). Results: bench/results/designs.md.
See bench/README.md for what is measured and how.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402  (bench/ is not a package; the worker runs this file as a script)
from harness import RESULTS, ROOT, fmt_estimate, fmt_memory, fmt_seconds, progress, size_label  # noqa: E402

ALL_ROWS = (10_000, 100_000, 1_000_000)
QUICK_ROWS = (10_000,)
ALL_DONORS = (50, 200, 1000)
QUICK_DONORS = (50,)
from cqox_core.datasets.designs import (  # noqa: E402,F401
    ADOPTION,
    AR_COEFFICIENT,
    PERIODS,
    RD_CUTOFF,
    STAGGERED_COHORTS,
    STAGGERED_SHARES,
    SYNTH_PERIODS,
    SYNTH_PRE,
    TRUE_EFFECT,
)

WARMUP_ROWS = 500
WARMUP_DONORS = 10
MEMORY_FRACTION = 0.5     # each worker's address space is capped at this share of physical memory
#: Versions printed in the report header.
PACKAGES = ("cqox", "numpy", "pandas", "scipy", "statsmodels", "pyfixest", "linearmodels", "moderndid",
            "rdrobust", "synthdid-py")

#: (estimate, standard error or None), optionally followed by a dict of extra numbers to report.
Estimate = tuple[Any, ...]


# --------------------------------------------------------------------------- data
# Each simulator takes a size (rows, or donors for synthetic control) and a seed and
# returns the long DataFrame both sides receive. Every design has a constant effect
# TRUE_EFFECT, so the estimand (ATT, LATE, jump at the cutoff, level change, average
# post-period gap) is 2.0 in every design.

from cqox_core.datasets.designs import (  # noqa: E402
    simulate_its,
    simulate_iv,
    simulate_rd,
    simulate_single_adoption,
    simulate_staggered,
    simulate_switching,
    simulate_synth,
)

# --------------------------------------------------------------------------- peers
# Each peer takes the DataFrame and returns (estimate, std_error or None). Conversion
# from the frame (set_index, relative time, first treated period) is inside the timed
# call, as it is for CQOx.

def peer_did_pyfixest(df: pd.DataFrame, seed: int) -> Estimate:
    import pyfixest as pf

    fit = pf.feols("y ~ d | unit + time", data=df, vcov={"CRV1": "unit"})
    return float(fit.coef()["d"]), float(fit.se()["d"])


def peer_did_linearmodels(df: pd.DataFrame, seed: int) -> Estimate:
    from linearmodels.panel import PanelOLS

    panel = df.set_index(["unit", "time"])
    fit = PanelOLS(panel["y"], panel[["d"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    return float(fit.params["d"]), float(fit.std_errors["d"])


def first_treated(df: pd.DataFrame) -> pd.Series:
    """Per row, the unit's first treated period (NaN for never-treated units)."""
    return df["unit"].map(df.loc[df["d"] == 1].groupby("unit")["time"].min())


def peer_event_study_pyfixest(df: pd.DataFrame, seed: int) -> Estimate:
    """pyfixest i(rel, ref=-1) with never-treated rows in the reference; headline = mean of the post
    coefficients, SE sqrt(a'Va), as CQOx's event_study."""
    import pyfixest as pf

    first = first_treated(df)
    rel = np.where(first.isna(), -1, df["time"] - first.fillna(0)).astype(np.int64)
    fit = pf.feols("y ~ i(rel, ref=-1) | unit + time", data=df.assign(rel=rel), vcov={"CRV1": "unit"})
    periods = np.array([float(name.split("::")[1].rstrip("]")) for name in fit.coef().index])
    a = (periods >= 0) / np.sum(periods >= 0)
    return float(a @ fit.coef().to_numpy()), float(np.sqrt(a @ fit._vcov @ a))


def peer_staggered_moderndid(df: pd.DataFrame, seed: int) -> Estimate:
    """moderndid att_gt (dr, never treated, varying base, analytic SEs) and the four aggregations
    CQOx also computes; the headline is the simple ATT."""
    import moderndid as md

    frame = df.assign(first_treat=first_treated(df).fillna(0).astype(np.int64))
    gt = md.att_gt(frame, yname="y", tname="time", idname="unit", gname="first_treat", est_method="dr",
                   control_group="nevertreated", base_period="varying", boot=False, cband=False)
    simple = md.aggte(gt, type="simple", boot=False, cband=False)
    for kind in ("dynamic", "group", "calendar"):
        md.aggte(gt, type=kind, boot=False, cband=False)
    return float(simple.overall_att), float(simple.overall_se)


def peer_iv_linearmodels(df: pd.DataFrame, seed: int) -> Estimate:
    from linearmodels.iv import IV2SLS

    exog = df[["x1", "x2"]].assign(const=1.0)
    fit = IV2SLS(df["y"], exog, df["d"], df["z"]).fit(cov_type="robust", debiased=True)  # HC1, as CQOx
    return float(fit.params["d"]), float(fit.std_errors["d"])


def peer_rd_rdrobust(df: pd.DataFrame, seed: int) -> Estimate:
    """rdrobust defaults (p=1, triangular, mserd, nn variance); conventional estimate, robust SE, as CQOx."""
    from rdrobust import rdrobust

    fit = rdrobust(df["y"].to_numpy(), df["x"].to_numpy(), c=RD_CUTOFF)
    return float(fit.coef.iloc[0, 0]), float(fit.se.iloc[2, 0])


def peer_its_statsmodels(df: pd.DataFrame, seed: int) -> Estimate:
    """Segmented OLS [1, t, post, (t - t0) post], Newey-West lags floor(4 (n/100)^(2/9)), factor n/(n-k)."""
    import statsmodels.api as sm

    time = df["time"].to_numpy(float)
    post = df["d"].to_numpy(float)
    t0 = time[np.argmax(post == 1)]
    X = np.column_stack([np.ones_like(time), time, post, (time - t0) * post])
    lags = int(math.floor(4 * (time.size / 100) ** (2 / 9)))
    fit = sm.OLS(df["y"].to_numpy(float), X).fit(cov_type="HAC", cov_kwds={"maxlags": lags,
                                                                          "use_correction": True})
    return float(fit.params[2]), float(fit.bse[2])


def sc_gap(Y: np.ndarray, pre: int) -> tuple[np.ndarray, np.ndarray]:
    """synthdid sc_estimate with the last row of Y treated: (donor weights, gap path)."""
    from synthdid import sc_estimate

    fit = sc_estimate(Y, Y.shape[0] - 1, pre)
    omega = np.asarray(fit.weights.omega)
    return omega, Y[-1] - omega @ Y[:-1]


def rmspe_ratio(gap: np.ndarray, pre: int) -> float:
    return float(np.sqrt(np.mean(gap[pre:] ** 2)) / np.sqrt(np.mean(gap[:pre] ** 2)))


def peer_synth_synthdid(df: pd.DataFrame, seed: int) -> Estimate:
    """synthdid sc_estimate, plus the work CQOx's synthetic_control does by default: one in-space placebo
    fit per donor (the p-value) and a leave-one-out refit per donor with weight."""
    wide = df.pivot(index="unit", columns="time", values="y").to_numpy()
    treated = df.loc[df["d"] == 1, "unit"].iloc[0]
    units = df["unit"].drop_duplicates().sort_values().to_numpy()
    order = np.r_[np.flatnonzero(units != treated), np.flatnonzero(units == treated)]
    Y = wide[order]                                   # donors first, treated last (synthdid's layout)
    pre = int(df.loc[df["d"] == 1, "time"].min() - df["time"].min())
    omega, gap = sc_gap(Y, pre)
    donors = Y[:-1]
    ratios = []
    for j in range(donors.shape[0]):                  # donor j as the treated unit, the others as its pool
        _, placebo_gap = sc_gap(np.vstack([np.delete(donors, j, axis=0), donors[j]]), pre)
        ratios.append(rmspe_ratio(placebo_gap, pre))
    for j in np.flatnonzero(omega > 1e-6):
        sc_gap(np.vstack([np.delete(donors, j, axis=0), Y[-1]]), pre)
    p_value = (1 + sum(r >= rmspe_ratio(gap, pre) for r in ratios)) / (len(ratios) + 1)
    return float(gap[pre:].mean()), None, {"placebo_p": p_value}


# --------------------------------------------------------------------------- designs

@dataclass(frozen=True)
class Peer:
    key: str
    label: str
    run: Callable[[pd.DataFrame, int], Estimate]


@dataclass(frozen=True)
class Design:
    """One CQOx method: its data, its roles and parameters, its peers, and how a size is described."""

    simulate: Callable[[int, int], pd.DataFrame]
    roles: dict[str, Any]
    peers: tuple[Peer, ...]
    kind: str                                   # "cross_section", "panel" or "synth"
    params: dict[str, Any] = field(default_factory=dict)
    no_peer: str = ""

    @property
    def warmup_size(self) -> int:
        return WARMUP_DONORS if self.kind == "synth" else WARMUP_ROWS

    def shape(self, size: int) -> str:
        if self.kind == "panel":
            return f"{size_label(size // PERIODS)} units x {PERIODS}"
        if self.kind == "synth":
            return f"{size} donors x {SYNTH_PERIODS}"
        return f"{size_label(size)} rows"

    def rows(self, size: int) -> int:
        return (size + 1) * SYNTH_PERIODS if self.kind == "synth" else size


PANEL_ROLES = {"outcome": "y", "treatment": "d", "unit": "unit", "time": "time"}
PYFIXEST_DID = Peer("pyfixest", 'pyfixest feols("y ~ d | unit + time", CRV1 unit)', peer_did_pyfixest)
LINEARMODELS_DID = Peer("linearmodels", "linearmodels PanelOLS (entity + time effects, clustered by entity)",
                        peer_did_linearmodels)

DESIGNS: dict[str, Design] = {
    "did": Design(simulate_single_adoption, PANEL_ROLES, (PYFIXEST_DID, LINEARMODELS_DID), "panel"),
    "event_study": Design(simulate_single_adoption, PANEL_ROLES,
                          (Peer("pyfixest", 'pyfixest feols("y ~ i(rel, ref=-1) | unit + time", CRV1 unit)',
                                peer_event_study_pyfixest),), "panel"),
    "staggered_did": Design(simulate_staggered, PANEL_ROLES,
                            (Peer("moderndid", "moderndid att_gt (dr, analytic SE) + 4 aggte",
                                  peer_staggered_moderndid),), "panel", params={"n_boot": 0}),
    "iv": Design(simulate_iv, {"outcome": "y", "treatment": "d", "instrument": ["z"], "covariates": ["x1", "x2"]},
                 (Peer("linearmodels", "linearmodels IV2SLS (robust, debiased = HC1)", peer_iv_linearmodels),),
                 "cross_section", params={"cov_type": "HC1"}),
    "rd": Design(simulate_rd, {"outcome": "y", "running": "x", "cutoff": RD_CUTOFF},
                 (Peer("rdrobust", "rdrobust (defaults: p=1, triangular, mserd, nn)", peer_rd_rdrobust),),
                 "cross_section"),
    "its": Design(simulate_its, {"outcome": "y", "treatment": "d", "time": "time"},
                  (Peer("statsmodels", "statsmodels OLS HAC (Newey-West lags, use_correction)",
                        peer_its_statsmodels),), "cross_section"),
    "synthetic_control": Design(simulate_synth, PANEL_ROLES,
                                (Peer("synthdid", "synthdid sc_estimate + J placebo + leave-one-out refits",
                                      peer_synth_synthdid),), "synth"),
    "panel_matching": Design(simulate_switching, PANEL_ROLES, (), "panel",
                             no_peer="no Python peer (PanelMatch, Imai-Kim-Wang's reference, is R only)"),
}


# --------------------------------------------------------------------------- worker

def run_cqox(df: pd.DataFrame, spec: dict[str, Any]) -> Estimate:
    import cqox_core as cq

    design = DESIGNS[spec["method"]]
    res = cq.estimate(spec["method"], df, **design.roles, seed=spec["seed"], with_gates=spec["extras"],
                      with_sensitivity=spec["extras"], **design.params)
    if design.kind == "synth":
        return float(res.estimate), float(res.std_error), {"placebo_p": float(res.diagnostics["placebo_p"])}
    return float(res.estimate), float(res.std_error)


def worker(spec: dict[str, Any]) -> dict[str, Any]:
    """One cell: cap memory, warm up, simulate, then time the call alone (harness.timed_call)."""
    sys.path.insert(0, str(ROOT))
    memory_cap_mb = harness.limit_memory(MEMORY_FRACTION)
    design = DESIGNS[spec["method"]]
    if spec["side"] == "cqox":
        from cqox_core import registry

        registry.methods()   # import every estimator module before anything is timed
        call = run_cqox
    else:
        peer = {p.key: p for p in design.peers}[spec["side"]]
        call = lambda df, s: peer.run(df, s["seed"])  # noqa: E731
    if spec["warmup"]:
        call(design.simulate(design.warmup_size, spec["seed"] + 1), spec)
    df = design.simulate(spec["n"], spec["seed"])
    return {**harness.timed_call(lambda: call(df, spec)), "memory_cap_mb": memory_cap_mb}


# --------------------------------------------------------------------------- driver

def registered_methods() -> tuple[set[str], str | None]:
    sys.path.insert(0, str(ROOT))
    try:
        from cqox_core import registry

        return {spec.id for spec in registry.methods()}, None
    except Exception as exc:  # a half-written estimator module must not stop the peers
        return set(), f"{type(exc).__name__}: {exc}"


def grid(args: argparse.Namespace) -> list[tuple[str, int]]:
    """(method, size) cells in table order: by size tier, then method."""
    cells = []
    for tier in range(max(len(args.rows), len(args.donors))):
        for method in args.methods:
            sizes = args.donors if DESIGNS[method].kind == "synth" else args.rows
            if tier < len(sizes):
                cells.append((method, sizes[tier]))
    return cells


def run_all(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str | None]:
    registered, registry_error = registered_methods()
    rows: list[dict[str, Any]] = []
    timed_out: set[tuple[str, str]] = set()
    base = {"seed": args.seed, "warmup": not args.no_warmup, "extras": not args.no_extras}
    with tempfile.TemporaryDirectory(prefix="cqox-bench-") as tmp:
        for method, size in grid(args):
            design = DESIGNS[method]
            row: dict[str, Any] = {"method": method, "n": size, "rows": design.rows(size),
                                   "shape": design.shape(size), "params": design.params, "peers": {}}
            sides = ["cqox"] + ([] if args.no_peers else [p.key for p in design.peers])
            for side in sides:
                if side == "cqox" and method not in registered:
                    cell = {"status": "error", "error": registry_error} if registry_error \
                        else {"status": "not registered"}
                elif (side, method) in timed_out:
                    cell = {"status": "skipped", "error": "timed out at a smaller size"}
                else:
                    spec = {**base, "side": side, "method": method, "n": size}
                    cell = harness.best_of(__file__, spec, args.repeat, args.timeout, Path(tmp))
                    if cell["status"] == "timeout":
                        timed_out.add((side, method))
                progress(f"  {method:<18} {design.shape(size):>18} {side:<12} {harness.describe(cell)}")
                if side == "cqox":
                    row["cqox"] = cell
                else:
                    row["peers"][side] = cell
            rows.append(row)
    return rows, registry_error


# --------------------------------------------------------------------------- report

def table(rows: list[dict[str, Any]], no_peers: bool) -> list[str]:
    header = ("method", "size", "cqox s", "cqox peak MB", "peer", "peer s", "peer peak MB", "cqox / peer time",
              "estimate cqox (SE)", "estimate peer (SE)", "difference")
    lines = []
    for row in rows:
        design, cq = DESIGNS[row["method"]], row["cqox"]
        left = (row["method"], row["shape"], fmt_seconds(cq), fmt_memory(cq))
        if not design.peers or no_peers:
            label = design.no_peer if not design.peers else "(--no-peers)"
            lines.append((*left, label, "", "", "", fmt_estimate(cq), "", ""))
            continue
        for peer in design.peers:
            cell = row["peers"][peer.key]
            lines.append((*left, peer.label, fmt_seconds(cell), fmt_memory(cell), ratio(cq, cell),
                          fmt_estimate(cq), fmt_estimate(cell), harness.fmt_difference(cq, cell)))
    return harness.markdown_table(header, "lrrrlrrrrrr", lines)


def ratio(cqox: dict[str, Any], peer: dict[str, Any]) -> str:
    """To 3 significant digits: synthetic control's ratios go far below 0.01."""
    return harness.fmt_ratio(cqox, peer, ".3g")


def twfe_line(rows: list[dict[str, Any]]) -> str:
    cell = next((r["cqox"] for r in rows if r["method"] == "did" and r["n"] == 1_000_000), None)
    if cell is None:
        return "TWFE on 1M rows: not run (did at 1M rows not selected; aim < 5 s)."
    if cell["status"] != "ok":
        return f"TWFE on 1M rows: {cell['status']} (aim < 5 s)."
    verdict = "met" if cell["seconds"] < 5 else "missed"
    return f"TWFE on 1M rows: {cell['seconds']:.3g} s (aim < 5 s: {verdict})."


def slower_than_peer(rows: list[dict[str, Any]]) -> list[str]:
    found = []
    for row in rows:
        for peer in DESIGNS[row["method"]].peers:
            cell = row["peers"].get(peer.key)
            if cell and row["cqox"]["status"] == "ok" and cell["status"] == "ok" \
                    and row["cqox"]["seconds"] > cell["seconds"]:
                found.append(f"- {row['method']} at {row['shape']}: cqox {row['cqox']['seconds']:.3g} s vs "
                             f"{peer.key} {cell['seconds']:.3g} s ({ratio(row['cqox'], cell)})")
    return ["CQOx slower than its peer:", "", *found] if found else ["CQOx was not slower than any peer that ran."]


def placebo_p_values(rows: list[dict[str, Any]]) -> list[str]:
    """The synthetic-control p-values of both sides: evidence that both ran the placebo fits."""
    found = []
    for row in rows:
        if DESIGNS[row["method"]].kind != "synth":
            continue
        sides = [("cqox", row["cqox"]), *row["peers"].items()]
        parts = [f"{side} {cell['extra']['placebo_p']:.3f}" for side, cell in sides if "extra" in cell]
        if parts:
            found.append(f"- {row['shape']}: " + ", ".join(parts))
    return ["Synthetic control in-space placebo p-values (rank of the treated unit's post/pre RMSPE ratio):", "",
            *found, ""] if found else []


def errors(rows: list[dict[str, Any]]) -> list[str]:
    found = [f"- {r['method']} at {r['shape']} ({side}): {cell['error']}"
             for r in rows for side, cell in [("cqox", r["cqox"]), *r["peers"].items()]
             if cell["status"] == "error" and cell.get("error")]
    return ["", "Errors:", "", *found] if found else []


def parameters(methods: list[str]) -> list[str]:
    out = []
    for m in methods:
        design = DESIGNS[m]
        roles = ", ".join(f"{k}={v!r}" for k, v in design.roles.items())
        params = ", ".join(f"{k}={v!r}" for k, v in design.params.items()) or "defaults"
        out.append(f"- {m}: {roles}; parameters: {params}")
    return out


def report(rows: list[dict[str, Any]], args: argparse.Namespace, registry_error: str | None) -> str:
    lines = ["# CQOx quasi-experimental designs benchmark", "",
             "Benchmark, not a test: timings on a shared machine are noisy; nothing here fails CI.", "",
             *harness.machine_info(PACKAGES), "",
             f"Data: simulated per design with a constant effect {TRUE_EFFECT} (the ATT, LATE, jump at the "
             f"cutoff, level change or average post-period gap is {TRUE_EFFECT} in every design); seed "
             f"{args.seed}. Panels have {PERIODS} periods; synthetic control {SYNTH_PERIODS} periods "
             f"({SYNTH_PRE} before treatment). "
             f"Command: `{' '.join(['bench/bench_designs.py', *sys.argv[1:]])}`.", "",
             harness.measurement_note(args, f"{WARMUP_ROWS} rows or {WARMUP_DONORS} donors"), "",
             *table(rows, args.no_peers), "",
             twfe_line(rows), "",
             *slower_than_peer(rows), "",
             *placebo_p_values(rows),
             "CQOx roles and parameters:", "",
             *parameters(args.methods), "",
             "staggered_did runs with n_boot=0: analytic influence-function SEs on both sides (the default "
             "999-draw multiplier bootstrap has no counterpart in the peer run). synthetic_control has no "
             "sampling SE on either side; both do one placebo fit per donor. panel_matching keeps its default "
             "200-draw block bootstrap and has no peer."]
    if registry_error:
        lines.append(f"The CQOx registry failed to import: {registry_error}")
    lines += errors(rows)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI

def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Speed and memory of the quasi-experimental designs against "
                                                 "peer libraries (a benchmark, not a test).")
    parser.add_argument("--sizes", help="comma-separated row counts for every design but synthetic control, "
                                        "e.g. 10K,100K,1M (default: all three); panels have rows/10 units")
    parser.add_argument("--donors", help="comma-separated donor counts for synthetic control (default 50,200,1000)")
    parser.add_argument("--quick", action="store_true", help="the smallest size of each: 10K rows, 50 donors")
    harness.add_run_options(parser, DESIGNS, RESULTS / "designs.md")
    args = parser.parse_args(argv)
    harness.check_run_options(parser, args, DESIGNS)
    args.rows = sorted({harness.parse_size(s) for s in args.sizes.split(",")}) if args.sizes else \
        list(QUICK_ROWS if args.quick else ALL_ROWS)
    args.donors = sorted({harness.parse_size(s) for s in args.donors.split(",")}) if args.donors else \
        list(QUICK_DONORS if args.quick else ALL_DONORS)
    small = [n for n in args.rows if n < 20 * PERIODS] + [n for n in args.donors if n < 3]
    if small:
        parser.error(f"sizes too small for a panel or a donor pool: {', '.join(map(str, small))}")
    return args


def main(argv: list[str]) -> int:
    if argv[:1] == ["--worker"]:
        return harness.worker_main(argv[1], worker)
    args = parse_args(argv)
    progress(f"Benchmarking {len(args.methods)} designs at {', '.join(map(size_label, args.rows))} rows and "
             f"{', '.join(map(str, args.donors))} donors (timeout {args.timeout:.0f} s per cell) ...")
    rows, registry_error = run_all(args)
    harness.write_outputs(args.out, report(rows, args, registry_error),
                          {"rows_sizes": args.rows, "donor_sizes": args.donors, "seed": args.seed,
                           "cells": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
