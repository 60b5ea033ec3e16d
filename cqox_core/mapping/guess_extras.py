"""The less common roles: sampling weight, latitude/longitude, cluster, and the roles taken from names only.

Mediator, site and exposure are only taken from unmistakable names.
"""
from __future__ import annotations

import math

import numpy as np

from .cues import BODY_WORDS, CLUSTER_CUES, WEIGHT_PREFIXES, WEIGHT_WORDS
from .names import NameInfo, name_match
from .profile import ColumnProfile
from .state import _choose, _clip01, _Scored, _State


def _weight_name(info: NameInfo) -> tuple[float, str | None]:
    """How clearly a name says 'sampling weight' (body weights like wt71 score 0)."""
    tokens = info.tokens
    words = info.words
    if set(words) & set(BODY_WORDS):
        return 0.0, None
    for word in words:
        for suffix in ("weight", "wgt", "wt"):
            if word != suffix and word.endswith(suffix) and word[: -len(suffix)] in WEIGHT_PREFIXES:
                return 1.0, word          # popwt, pweight, perwt
    if not set(words) & set(WEIGHT_WORDS):
        return 0.0, None
    if info.trailing_digits and tokens[-1].isdigit() and info.years:
        return 0.0, None                  # wt71, weight82: a measurement in a year
    if len(words) == 1:
        return (0.8 if words[0] not in ("w",) else 0.5), words[0]
    if set(words) & set(WEIGHT_PREFIXES) or "sampling" in words or "survey" in words:
        return 1.0, "_".join(words)
    return 0.6, "_".join(words)


def _weight_pattern(p: ColumnProfile) -> tuple[float, str]:
    if p.kind != "numeric" or p.values is None:
        return 0.0, ""
    v = p.values[np.isfinite(p.values)]
    if v.size == 0 or v.min() < 0 or v.max() == 0:
        return 0.0, ""
    mean, cv = float(v.mean()), float(v.std() / v.mean())
    if 0.5 <= mean <= 2.0:
        return 1.0, f"positive, averaging {mean:.2f} (normalised weights)"
    if 30 <= v.min() and v.max() <= 300 and cv < 0.35:
        return 0.15, "values look like body weights (kg/lb), not sampling weights"
    return 0.7, "positive and skewed like expansion weights"


def _infer_weight(state: _State) -> None:
    if state.is_fixed("weight"):
        return
    scored = []
    for p in state.pool("numeric"):
        strength, word = _weight_name(p.info)
        if strength == 0:
            continue
        pattern, what = _weight_pattern(p)
        if pattern > 0:
            scored.append(_Scored(p.name, 0.55 * strength + 0.45 * pattern,
                                  [f"named like a weight ('{word}')", what]))
    _choose(state, "weight", scored, threshold=0.6)


def _infer_lat_lon(state: _State) -> None:
    if state.is_fixed("lat") or state.is_fixed("lon"):
        return
    lat = _coordinate(state, ("lat", "latitude"), 90.0)
    lon = _coordinate(state, ("lon", "lng", "long", "longitude"), 180.0)
    if lat and lon:
        state.assign("lat", lat, 0.9, "named latitude, values within ±90")
        state.assign("lon", lon, 0.9, "named longitude, values within ±180")


def _coordinate(state: _State, words: tuple[str, ...], bound: float) -> str | None:
    for p in state.pool("numeric"):
        if set(p.info.words) & set(words) and p.values is not None:
            v = p.values[np.isfinite(p.values)]
            if v.size and np.abs(v).max() <= bound and not p.is_integer:
                return p.name
    return None


def _infer_cluster(state: _State) -> None:
    if state.is_fixed("cluster"):
        return
    scored = []
    for p in state.pool("numeric", "category", "text"):
        if p.kind == "numeric" and not p.is_integer:
            continue
        strength, word = name_match(p.info, CLUSTER_CUES, unlog=False)
        # cluster-robust errors need many groups; four regions are a covariate, not clusters
        if strength == 0 or p.n_unique < 8 or _looks_like_amount(p):
            continue
        per_level = p.n_valid / p.n_unique
        if per_level < 2:
            continue
        pattern = _clip01(math.log10(per_level)) * _clip01(p.n_unique / 10)
        scored.append(_Scored(p.name, 0.6 * strength + 0.4 * pattern,
                              [f"named like a group ('{word}')",
                               f"{p.n_unique} groups with about {per_level:.0f} rows each: "
                               "rows in a group are likely correlated"]))
    _choose(state, "cluster", scored, threshold=0.55)


def _looks_like_amount(p: ColumnProfile) -> bool:
    """Small non-negative integers (0-30) named 'school' are years of schooling, not school ids."""
    if p.kind != "numeric" or p.values is None:
        return False
    if set(p.info.words) & {"id", "code", "cluster", "psu", "no", "num", "nr"} or p.info.joined.endswith("id"):
        return False
    finite = p.values[np.isfinite(p.values)]
    return bool(finite.min() >= 0 and finite.max() <= 30)


def _infer_named_extras(state: _State) -> None:
    """Mediator, site and exposure are only taken from unmistakable names."""
    rules = (
        ("mediator", {"mediator": 1.0, "mediating": 0.9, "mediat": 0.8}, ("numeric", "binary"),
         "named like a mediator; that it lies between treatment and outcome cannot be checked from data"),
        ("site", {"site": 0.8, "target": 0.6, "intarget": 1.0, "targetpopulation": 1.0}, ("binary",),
         "0/1 named like a target-site flag"),
        ("exposure", {"exposure": 0.7, "spillover": 1.0, "neighbors": 0.6, "neighbours": 0.6, "peer": 0.6},
         ("numeric",), "named like a network exposure (share of treated neighbours)"),
    )
    for role, cues, kinds, reason in rules:
        if state.is_fixed(role):
            continue
        best = max(((name_match(p.info, cues, unlog=False)[0], p.name) for p in state.pool(*kinds)),
                   default=(0.0, None))
        if best[0] >= 0.75:
            state.assign(role, best[1], 0.6 * best[0], reason)
