"""Automatic mapping: which column plays which role, how sure we are, and why.

The analyst uploads a table; before any estimate we must guess the outcome, the
treatment, the covariates and, where the design has them, the unit, time,
instrument, running variable and so on. Every guess is made from two kinds of
evidence and is reported with both:

* the column's **name** (tokenised, so ``spend_after_90d``, ``SpendAfter90d``
  and ``spend.after.90d`` read alike; cues are generic words, never the names
  of one dataset), and
* the column's **values** (0/1 or yes/no, year-like integers, a binary column
  that switches where a continuous one crosses a threshold, a 0/1 column that
  switches on once per unit and stays on ...).

Confidence is computed from that evidence: how strong the winner's evidence
is and how far it is ahead of the runner-up. A guess the data cannot support
(an instrument's exclusion restriction, whether a covariate was measured before
treatment) is said so in its reason.

The leakage guard keeps columns that would hand the estimator the answer
(potential outcomes, true effects, near-copies of the outcome, restatements of
the treatment, later measurements) out of the covariates, and says why.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from .data import Dataset, as_dataset
from .roles import Roles

# --------------------------------------------------------------------------
# Vocabulary. Weights say how strongly a word points at a role (1 = as clear
# as a name can be). Words of three letters or fewer only match whole tokens;
# single letters only match a name that is that letter (plus digits).
# --------------------------------------------------------------------------

TREATMENT_CUES: dict[str, float] = {
    "treat": 1.0, "treated": 1.0, "treatment": 1.0, "trt": 0.9, "tx": 0.6, "tr": 0.5,
    "intervention": 1.0, "exposed": 0.9, "exposure": 0.6, "program": 0.8, "programme": 0.8,
    "participation": 0.8, "participate": 0.8, "participated": 0.8, "participant": 0.6,
    "assigned": 0.6, "assignment": 0.5, "received": 0.8, "receive": 0.7, "campaign": 0.8,
    "promo": 0.8, "promotion": 0.8, "policy": 0.7, "law": 0.6, "reform": 0.7, "voucher": 0.8,
    "coupon": 0.8, "discount": 0.6, "grant": 0.7, "subsidy": 0.8, "incentive": 0.8,
    "training": 0.8, "train": 0.8, "trained": 0.8, "scholarship": 0.7, "award": 0.6,
    "awarded": 0.7, "quit": 0.7, "qsmk": 0.8, "therapy": 0.8,
    "drug": 0.6, "vaccine": 0.8, "vaccinated": 0.8, "medication": 0.6, "nudge": 0.8,
    "mailer": 0.6, "email": 0.5, "ad": 0.5, "ads": 0.5, "offer": 0.5, "variant": 0.7, "arm": 0.7,
    "d": 0.7, "w": 0.6, "any": 0.4, "post": 0.3, "adopted": 0.5, "enacted": 0.6,
    "smoker": 0.35, "smoking": 0.35, "enrolled": 0.8, "enrolment": 0.6, "enrollment": 0.6,
    "enrolled_followup": 0.8, "signed": 0.5, "adopted_program": 0.6,
}
#: Words that make a non-binary column a plausible (continuous or dose) treatment.
DOSE_CUES: dict[str, float] = {
    "dose": 0.9, "dosage": 0.9, "schooling": 0.8, "educ": 0.7, "education": 0.7, "hours": 0.4,
    "price": 0.5, "amount": 0.4, "intensity": 0.4, "exposure": 0.6, "budget": 0.5, "tax": 0.4,
}
OUTCOME_CUES: dict[str, float] = {
    "y": 1.0, "outcome": 1.0, "outcomes": 1.0, "response": 0.7, "target": 0.5, "label": 0.5,
    "factual": 0.9,
    # money and work
    "earnings": 1.0, "earning": 1.0, "earn": 0.9, "wage": 1.0, "wages": 1.0, "salary": 0.9,
    "income": 0.6, "pay": 0.5, "sales": 0.9, "revenue": 1.0, "spend": 0.9, "spending": 0.9,
    "profit": 0.8, "gmv": 0.9, "ltv": 0.8, "employed": 0.7, "employment": 0.7, "unemployed": 0.5,
    # customer behaviour
    "conversion": 1.0, "converted": 1.0, "convert": 0.9, "purchase": 0.9, "purchased": 0.9,
    "purchases": 0.9, "orders": 0.7, "clicks": 0.7, "click": 0.6, "churn": 0.9, "churned": 0.9,
    "retention": 0.8, "retained": 0.8, "signup": 0.7, "bookings": 0.7, "usage": 0.6, "demand": 0.6,
    "consumption": 0.5, "takeup": 0.8, "uptake": 0.8, "responded": 0.7, "got": 0.5, "took": 0.5,
    "visited": 0.5, "attended": 0.5, "completed": 0.6, "success": 0.6, "voted": 0.6,
    "turnout": 0.7, "support": 0.3, "rate": 0.4,
    # learning
    "score": 0.6, "scores": 0.6, "exam": 0.6, "gpa": 0.8, "grade": 0.5, "math": 0.5,
    "reading": 0.5, "achievement": 0.8, "graduated": 0.7, "graduation": 0.7, "dropout": 0.7,
    # health
    "death": 1.0, "died": 1.0, "dead": 0.9, "mortality": 1.0, "survival": 0.9, "survived": 0.9,
    "readmit": 1.0, "readmitted": 1.0, "readmission": 1.0, "recovery": 0.8, "recovered": 0.8,
    "cured": 0.8, "hospitalized": 0.7, "infected": 0.6, "weight": 0.5, "wt": 0.5, "bmi": 0.5,
    "sbp": 0.6, "dbp": 0.5, "cholesterol": 0.5, "glucose": 0.6, "hba1c": 0.7, "pain": 0.5,
    "bwght": 0.8, "birthweight": 0.8, "lbw": 0.7,
    # public safety
    "homicide": 0.8, "homicides": 0.8, "murder": 0.8, "crime": 0.6, "crimes": 0.6,
    "crmrte": 0.6, "arrests": 0.5, "robbery": 0.4, "burglary": 0.4, "larceny": 0.4,
    "assault": 0.4, "theft": 0.4,
    # production and credit
    "yield": 0.8, "defect": 0.9, "defects": 0.9, "defective": 0.9, "scrap": 0.8, "rework": 0.6,
    "throughput": 0.8, "downtime": 0.7, "failure": 0.7, "failures": 0.7, "output": 0.6,
    "default": 0.8, "defaulted": 0.9, "repaid": 0.8, "repayment": 0.8, "delinquent": 0.8,
    "savings": 0.6, "wealth": 0.6,
    # re74, re75, re78: the labour-economics shorthand for real earnings in a year
    "re": 0.8,
}
#: Outcome-like names strong enough that a second such column is likely measured
#: after treatment too (it is kept out of the covariates).
STRONG_OUTCOME = 0.8
#: Person and place attributes: usually covariates, rarely the treatment or outcome.
DEMOGRAPHIC_CUES: dict[str, float] = {
    "age": 1.0, "agesq": 1.0, "sex": 1.0, "gender": 1.0, "female": 1.0, "male": 1.0,
    "race": 1.0, "black": 1.0, "white": 1.0, "nonwhite": 1.0, "hisp": 1.0, "hispanic": 1.0,
    "hispan": 1.0, "asian": 1.0, "latino": 1.0, "ethnicity": 1.0, "married": 1.0, "marr": 1.0,
    "marital": 1.0, "divorced": 0.8, "single": 0.6, "nodegree": 1.0, "degree": 0.5, "educ": 0.7,
    "education": 0.7, "school": 0.4, "urban": 0.9, "rural": 0.9, "smsa": 0.9, "south": 0.9,
    "north": 0.8, "west": 0.8, "east": 0.8, "northeast": 0.8, "midwest": 0.8, "region": 0.8,
    "reg": 0.6, "citizen": 0.7, "immigrant": 0.7, "foreign": 0.6, "religion": 0.8,
    "catholic": 0.7, "protest": 0.6, "children": 0.6, "kids": 0.6, "fsize": 0.6, "hhsize": 0.6,
    "father": 0.8, "mother": 0.8, "fath": 0.8, "moth": 0.8, "parent": 0.8, "parents": 0.8,
    "spouse": 0.8, "husband": 0.8, "wife": 0.8, "heduc": 0.8,
    "height": 0.8, "ht": 0.6, "birthplace": 0.8, "born": 0.6, "yearborn": 0.8, "exper": 0.7,
    "experience": 0.7, "expersq": 0.8, "older": 0.8, "younger": 0.8, "parity": 0.5,
}
INSTRUMENT_CUES: dict[str, float] = {
    "z": 1.0, "instrument": 1.0, "instruments": 1.0, "iv": 0.9, "lottery": 0.9, "lotto": 0.7,
    "draft": 0.8, "encouragement": 0.9, "encouraged": 0.9, "encourage": 0.9, "offered": 0.7,
    "offer": 0.6, "assign": 0.7, "assigned": 0.7, "assignment": 0.7, "eligible": 0.5,
    "eligibility": 0.5, "near": 0.6, "nearby": 0.5, "proximity": 0.8, "distance": 0.5,
    "dist": 0.4, "qob": 0.8, "randomized": 0.6, "random": 0.5, "itt": 0.7, "leniency": 0.8,
    "judge": 0.5, "rainfall": 0.5, "samesex": 0.7, "twins": 0.6,
}
RUNNING_CUES: dict[str, float] = {
    "running": 1.0, "runvar": 1.0, "forcing": 1.0, "margin": 0.8, "centered": 0.8,
    "centred": 0.8, "cutoff": 0.6, "threshold": 0.6, "voteshare": 0.6, "distance": 0.4,
    "dist": 0.3, "score": 0.4, "vote": 0.4, "age": 0.3, "income": 0.2, "gpa": 0.3,
}
ID_CUES: dict[str, float] = {
    "id": 1.0, "ids": 1.0, "identifier": 1.0, "uid": 1.0, "key": 0.5, "unit": 0.9, "person": 0.8,
    "pid": 0.9, "individual": 0.7, "subject": 0.8, "respondent": 0.8, "participant": 0.5,
    "patient": 0.7, "customer": 0.7, "user": 0.7, "client": 0.7, "member": 0.6, "account": 0.6,
    "firm": 0.8, "company": 0.7, "store": 0.6, "household": 0.7, "hh": 0.6, "state": 0.8,
    "county": 0.8, "country": 0.8, "city": 0.6, "district": 0.6, "municipality": 0.7,
    "fips": 0.8, "fip": 0.8, "statefip": 0.8, "code": 0.5, "seqn": 0.9, "seq": 0.6, "nr": 0.4,
    "num": 0.3, "number": 0.3, "name": 0.4, "entity": 0.8, "ref": 0.5, "school": 0.5,
}
TIME_CUES: dict[str, float] = {
    "year": 1.0, "yr": 0.8, "period": 1.0, "date": 1.0, "time": 0.9, "month": 0.9, "week": 0.9,
    "day": 0.7, "quarter": 0.9, "qtr": 0.8, "wave": 0.8, "round": 0.5, "t": 0.6,
    "timestamp": 1.0, "dt": 0.6, "datetime": 1.0, "yearmonth": 1.0,
}
#: Dates of events (birth, death, adoption) are attributes, not the time axis.
TIME_NEGATIVE: dict[str, float] = {
    "born": 1.0, "birth": 1.0, "dob": 1.0, "death": 1.0, "dth": 1.0, "first": 1.0, "treat": 1.0,
    "treated": 1.0, "adopt": 1.0, "adoption": 1.0, "since": 1.0, "app": 0.6, "fm": 0.8,
    "tenure": 1.0, "duration": 1.0, "length": 1.0, "elapsed": 1.0, "age": 1.0, "spent": 1.0,
}
#: Plural time units measure durations (tenure_months, smokeyrs), not the calendar.
DURATION_WORDS = ("months", "years", "days", "weeks", "hours", "yrs", "mins", "minutes", "seconds")
COHORT_CUES: dict[str, float] = {
    "cohort": 1.0, "firsttreat": 1.0, "firsttreated": 1.0, "g": 0.7, "gname": 0.9,
    "treatyear": 0.9, "yeartreated": 0.9, "treatmentyear": 0.9, "adoptyear": 0.9,
    "adoption": 0.7, "enacted": 0.6, "startyear": 0.5,
}
CLUSTER_CUES: dict[str, float] = {
    "cluster": 1.0, "psu": 0.9, "state": 0.8, "school": 0.9, "region": 0.7, "village": 0.9,
    "vill": 0.8, "district": 0.8, "county": 0.8, "city": 0.7, "country": 0.8, "site": 0.7,
    "clinic": 0.8, "hospital": 0.8, "firm": 0.6, "class": 0.7, "classroom": 0.9, "group": 0.5,
    "team": 0.6, "store": 0.6, "market": 0.7, "zip": 0.7, "zipcode": 0.7, "province": 0.8,
    "commune": 0.8, "neighborhood": 0.7, "nbh": 0.6, "block": 0.5, "strata": 0.6, "stratum": 0.6,
}
WEIGHT_WORDS = ("weight", "weights", "wgt", "wt", "wts", "w", "pweight", "aweight", "fweight", "iweight")
#: Prefixes that make a weight name unambiguous (popwt, sample_weight, perwt ...).
WEIGHT_PREFIXES = ("p", "pop", "samp", "sample", "sampling", "survey", "design", "final", "person",
                   "per", "hh", "household", "base", "analysis", "frequency", "freq", "ipw", "inv",
                   "case", "expansion", "cal", "raking")
#: Words that make a "weight" a body or product measurement, not a sampling weight.
BODY_WORDS = ("body", "birth", "baby", "bw", "kg", "lb", "lbs", "mass", "gain", "loss", "net",
              "gross", "product", "item", "package")
POST_WORDS = ("post", "after", "followup", "follow", "end", "final", "later", "next", "future", "fu")
BASELINE_WORDS = ("pre", "before", "baseline", "base", "prior", "lag", "lagged", "initial", "past",
                  "previous", "prev", "bl", "hist", "historical")
#: Names that are only known in simulations or are functions of the answer.
LEAK_TOKENS: dict[str, str] = {
    "cate": "a true (simulated) individual or conditional effect",
    "ite": "a true (simulated) individual effect",
    "tau": "a true (simulated) treatment effect",
    "ate": "a true (simulated) average effect",
    "att": "a true (simulated) average effect",
    "counterfactual": "a counterfactual outcome",
    "cfactual": "a counterfactual outcome",
    "oracle": "an oracle (simulated) quantity",
    "truth": "a true (simulated) quantity",
    "groundtruth": "a true (simulated) quantity",
}
PROPENSITY_WORDS = ("propensity", "pscore", "ps", "ehat", "phat")
LOG_MARKERS = ("l", "ln", "log")
POSITIVE_LEVELS = {"1", "yes", "y", "true", "t", "treated", "treatment", "treat", "exposed", "on",
                   "received", "intervention", "active", "test", "variant", "b", "got", "took",
                   "participant", "enrolled", "offered", "assigned", "program", "promo", "campaign"}
NEGATIVE_LEVELS = {"0", "no", "n", "false", "f", "control", "untreated", "nottreated", "placebo", "none",
                   "off", "not", "a", "baseline", "standard", "comparison", "holdout", "noprogram"}

MAX_PROFILE_ROWS = 100_000          # larger frames are profiled on a seeded row sample
LEAK_CORRELATION = 0.95             # |r| with the outcome at which a column gives the answer away
RANK_LEAK_CORRELATION = 0.99        # |rank r|: a monotone transform (log, scale) of the outcome
TREATMENT_LOCKSTEP = 0.98           # |r| with the treatment: a restatement of it
MOSTLY_MISSING = 0.5
MAX_CATEGORY_LEVELS = 20
ROLE_ORDER = ("outcome", "treatment", "treated_value", "covariates", "instrument", "running",
              "cutoff", "unit", "time", "cohort", "mediator", "cluster", "weight", "site", "lat",
              "lon", "exposure")


# --------------------------------------------------------------------------
# Public result
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Mapping:
    """Inferred roles with a confidence (0..1) and a one-line reason per role.

    ``excluded`` names the columns kept out of the covariates and why;
    ``candidates`` lists the best alternatives per role (for the app's
    dropdowns), each with its score.
    """

    roles: Roles
    confidence: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``cqox map --json`` shape (the caller adds ``domain``)."""
        return {"roles": self.roles.to_dict(), "confidence": dict(self.confidence),
                "reasons": dict(self.reasons), "excluded": dict(self.excluded)}


# --------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_PIECES = re.compile(r"[A-Za-z]+|[0-9]+")


def name_tokens(name: object) -> tuple[str, ...]:
    """Lower-case word and number tokens: ``'SpendAfter90d'`` -> ('spend', 'after', '90', 'd')."""
    text = _CAMEL.sub(" ", str(name))
    return tuple(piece.lower() for piece in _PIECES.findall(text))


def _is_year_token(token: str) -> bool:
    return token.isdigit() and (len(token) == 2 or (len(token) == 4 and 1900 <= int(token) <= 2100))


def _full_year(value: int) -> int:
    # two-digit years: '74 is 1974, '04 is 2004 (survey data rarely predate 1930)
    if value >= 100:
        return value
    return 1900 + value if value >= 30 else 2000 + value


def _unlog(word: str, known: Iterable[str]) -> str | None:
    """'lwage' -> 'wage' when 'wage' is a word we know (a log-scale version)."""
    for marker in ("log", "ln", "l"):
        rest = word[len(marker):]
        if word.startswith(marker) and len(rest) >= 3 and rest in known:
            return rest
    return None


@dataclass(frozen=True)
class NameInfo:
    """What a column's name says, parsed once."""

    tokens: tuple[str, ...]
    words: tuple[str, ...]          # alphabetic tokens without log markers
    joined: str                     # the words run together: 'quarternum'
    trailing_digits: tuple[str, ...]
    years: tuple[int, ...]          # trailing year-like numbers, full form (1978, 1982 ...)
    stem: str                       # the name without trailing numbers
    logged: bool                    # a log marker was present ('l_homicide', 'lwage', 'log_sales')


def parse_name(name: object) -> NameInfo:
    tokens = name_tokens(name)
    cut = len(tokens)
    while cut > 0 and tokens[cut - 1].isdigit():
        cut -= 1
    trailing = tokens[cut:]
    yearly = bool(trailing) and all(map(_is_year_token, trailing))
    years = tuple(_full_year(int(t)) for t in trailing) if yearly else ()
    alpha = [t for t in tokens if not t.isdigit()]
    logged = len(alpha) > 1 and alpha[0] in LOG_MARKERS
    words = tuple(alpha[1:]) if logged else tuple(alpha)
    stem = "_".join(tokens[:cut]) if cut else ""
    return NameInfo(tokens, words, "".join(words), trailing, years, stem, logged)


def name_match(info: NameInfo, cues: dict[str, float], *, unlog: bool = True) -> tuple[float, str | None]:
    """Best cue for a name: (strength 0..1, the cue word).

    Strength is the cue's weight times how well it fits: the whole name (1.0),
    the only word (0.95), one of several words (0.85), the start or end of a
    word (0.7) or inside a word (0.55).
    """
    best, best_word = 0.0, None
    words = list(info.words)
    if unlog:
        words += [u for u in (_unlog(w, cues) for w in info.words) if u]
    for cue, weight in cues.items():
        fit = _cue_fit(cue, info, words)
        if fit * weight > best:
            best, best_word = fit * weight, cue
    return best, best_word


def _cue_fit(cue: str, info: NameInfo, words: list[str]) -> float:
    if cue == info.joined:
        # 'd89' is a year dummy, not 'd'; 'z2' is still the second instrument
        return 1.0 if len(cue) > 1 or len("".join(info.trailing_digits)) <= 1 else 0.0
    if len(cue) == 1:
        return 0.0                      # single letters only as the whole name (or letter + one digit)
    if cue in words:
        return 0.95 if len(info.words) == 1 else 0.85
    if len(cue) < 4:
        return 0.0
    if any(w.startswith(cue) or w.endswith(cue) for w in words):
        return 0.7
    if any(cue in w for w in words):
        return 0.55
    return 0.0


# --------------------------------------------------------------------------
# Column profiles (what the values look like)
# --------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """One column, summarised once: name parse, kind and value pattern."""

    name: str
    position: int
    info: NameInfo
    kind: str                        # numeric | binary | category | text | datetime | constant | empty
    values: np.ndarray | None        # float view (binary as 0/1) with NaN for missing
    codes: np.ndarray | None         # integer codes for grouping (any kind), -1 for missing
    n_rows: int
    n_missing: int
    n_unique: int
    is_integer: bool
    levels: tuple[str, ...]          # original levels of a binary or category column
    positive: str | None             # the level read as 1 in a labelled binary column
    positive_known: bool             # the positive level was recognised from its label
    date_share: float                # share of values that parse as dates/periods
    date_sortable: bool              # text dates whose alphabetical order is chronological

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_missing

    @property
    def missing_share(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else 1.0

    @property
    def unique_ratio(self) -> float:
        return self.n_unique / self.n_valid if self.n_valid else 0.0

    def describe(self) -> str:
        if self.kind == "binary":
            share = np.nanmean(self.values) if self.values is not None else float("nan")
            if self.positive is not None and self.levels and set(self.levels) != {"0", "1"}:
                return f"two values ({'/'.join(self.levels)}), '{self.positive}' in {share:.0%} of rows"
            return f"0/1, 1 in {share:.0%} of rows"
        if self.kind == "numeric":
            if self.n_unique <= 10:
                return f"numeric with {self.n_unique} levels"
            return "continuous" if not self.is_integer else "numeric (counts or amounts)"
        return self.kind


def _profile_frame(frame: pd.DataFrame) -> dict[str, ColumnProfile]:
    sample = frame
    if len(frame) > MAX_PROFILE_ROWS:
        # a seeded, order-preserving sample keeps panels' within-unit order
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(len(frame), MAX_PROFILE_ROWS, replace=False))
        sample = frame.iloc[rows]
    return {str(col): _profile(str(col), sample[col], i) for i, col in enumerate(frame.columns)}


def _profile(name: str, series: pd.Series, position: int) -> ColumnProfile:
    info = parse_name(name)
    n_rows = int(series.size)
    missing = series.isna().to_numpy()
    n_missing = int(missing.sum())
    base = dict(name=name, position=position, info=info, n_rows=n_rows, n_missing=n_missing)
    if n_missing == n_rows:
        return ColumnProfile(kind="empty", values=None, codes=None, n_unique=0, is_integer=False,
                             levels=(), positive=None, positive_known=False, date_share=0.0,
                             date_sortable=False, **base)
    try:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    except TypeError:                     # mixed numbers and text cannot be sorted together
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    n_unique = int(len(uniques))
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnProfile(kind="datetime" if n_unique > 1 else "constant", values=None, codes=codes,
                             n_unique=n_unique, is_integer=False, levels=(), positive=None,
                             positive_known=False, date_share=1.0, date_sortable=True, **base)
    numbers = _as_numbers(series)
    if numbers is not None:
        return _numeric_profile(numbers, codes, base)
    return _label_profile(series, codes, n_unique, base)


def _as_numbers(series: pd.Series) -> np.ndarray | None:
    """A float view of a numeric, boolean or numbers-as-text column; None otherwise."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    # categories '0'/'1' (NHEFS sex, race) and numbers stored as text are numbers
    present = int(series.notna().sum())
    parsed = pd.to_numeric(series.astype("object").where(series.notna()), errors="coerce")
    if present and parsed.notna().sum() >= 0.98 * present:
        return parsed.to_numpy(dtype=float, na_value=np.nan)
    return None


def _numeric_profile(numbers: np.ndarray, codes: np.ndarray, base: dict[str, Any]) -> ColumnProfile:
    finite = numbers[np.isfinite(numbers)]
    is_integer = bool(finite.size and np.all(np.mod(finite, 1) == 0))
    distinct = np.unique(finite)
    n_unique = int(distinct.size)
    kind, levels, positive = "numeric", (), None
    if n_unique <= 1:
        kind = "constant"
    elif n_unique == 2:
        kind = "binary"
        lo, hi = distinct
        numbers = np.where(np.isfinite(numbers), (numbers == hi).astype(float), np.nan)
        levels = tuple(_format_level(v) for v in (lo, hi))
        positive = _format_level(hi)
    return ColumnProfile(kind=kind, values=numbers, codes=codes, n_unique=n_unique, is_integer=is_integer,
                         levels=levels, positive=positive, positive_known=True, date_share=0.0,
                         date_sortable=False, **base)


def _format_level(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _label_profile(series: pd.Series, codes: np.ndarray, n_unique: int, base: dict[str, Any]) -> ColumnProfile:
    labels = [str(v) for v in pd.unique(series.dropna())]
    date_share, sortable = _date_pattern(labels)
    common = dict(codes=codes, n_unique=n_unique, is_integer=False, date_share=date_share,
                  date_sortable=sortable, **base)
    if n_unique <= 1:
        return ColumnProfile(kind="constant", values=None, levels=tuple(labels), positive=None,
                             positive_known=False, **common)
    if n_unique == 2 and date_share < 0.9:          # two dates are two periods, not two arms
        positive, known = _positive_level(series, labels)
        values = np.where(series.isna().to_numpy(), np.nan,
                          (series.astype("object").astype(str) == positive).to_numpy(dtype=float))
        return ColumnProfile(kind="binary", values=values, levels=tuple(labels), positive=positive,
                             positive_known=known, **common)
    kind = "category" if n_unique <= MAX_CATEGORY_LEVELS else "text"
    return ColumnProfile(kind=kind, values=None, levels=tuple(labels[:50]), positive=None,
                         positive_known=False, **common)


def _squash(label: str) -> str:
    return re.sub(r"[^a-z0-9]", "", label.lower())


def _positive_level(series: pd.Series, labels: list[str]) -> tuple[str, bool]:
    """Which of two labels means 'treated/yes'; known=False when we fell back to the rarer one."""
    squashed = {label: _squash(label) for label in labels}
    yes = [l for l in labels if squashed[l] in POSITIVE_LEVELS]
    no = [l for l in labels if squashed[l] in NEGATIVE_LEVELS]
    if len(yes) == 1:
        return yes[0], True
    if len(no) == 1:
        return next(l for l in labels if l != no[0]), True
    counts = series.astype("object").astype(str).value_counts()
    return str(counts.index[-1]), False


_PERIOD_LABEL = re.compile(
    r"^(q[1-4][-_ /]?\d{4}|\d{4}[-_ /]?q[1-4]|\d{4}[-_ /]?(0[1-9]|1[0-2])|\d{4}m\d{1,2})$")


def _date_pattern(labels: list[str]) -> tuple[float, bool]:
    """Share of labels that read as dates or periods, and whether text order is time order."""
    sample = [l.strip() for l in labels[:200]]
    if not sample:
        return 0.0, False
    periods = sum(bool(_PERIOD_LABEL.match(l.lower())) for l in sample)
    candidates = [l for l in sample if re.search(r"\d", l) and re.search(r"[-/:. ]", l) and len(l) >= 6]
    parsed = pd.Series(dtype="datetime64[ns]")
    if candidates:
        parsed = pd.to_datetime(pd.Series(candidates, dtype=object), errors="coerce", format="mixed")
    share = max(periods, int(parsed.notna().sum())) / len(sample)
    sortable = False
    if share >= 0.9 and parsed.notna().sum() >= 0.9 * len(sample):
        texts = [c for c, ok in zip(candidates, parsed.notna()) if ok]
        by_text = np.argsort(np.array(texts), kind="stable")
        by_time = np.argsort(parsed.dropna().to_numpy(), kind="stable")
        sortable = bool(np.array_equal(by_text, by_time))
    return share, sortable


# --------------------------------------------------------------------------
# Numeric helpers
# --------------------------------------------------------------------------

def _corr(a: np.ndarray, b: np.ndarray, min_n: int = 10) -> float:
    """Pearson r on the rows where both are present (NaN if undefined)."""
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < min_n:
        return float("nan")
    x, y = a[ok], b[ok]
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(np.mean((x - x.mean()) * (y - y.mean())) / (sx * sy))


def _rank_corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 10:
        return float("nan")
    ra = pd.Series(a[ok]).rank().to_numpy()
    rb = pd.Series(b[ok]).rank().to_numpy()
    return _corr(ra, rb)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _confidence(best: float, rival: float) -> float:
    """Sure when the winner's evidence is strong and clearly ahead of the runner-up."""
    if best <= 0:
        return 0.0
    margin = _clip01(2.0 * (best - rival) / best)
    return round(min(0.99, _clip01(best) * (0.5 + 0.5 * margin)), 2)


# --------------------------------------------------------------------------
# Inference state
# --------------------------------------------------------------------------

@dataclass
class _Scored:
    column: str
    score: float
    why: list[str] = field(default_factory=list)


@dataclass
class _State:
    """Working memory of one inference (internal and mutable by design)."""

    frame: pd.DataFrame
    profiles: dict[str, ColumnProfile]
    fixed: Roles
    roles: dict[str, Any] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    candidates: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)     # never given any role
    taken: set[str] = field(default_factory=set)
    joined_names: set[str] = field(default_factory=set)       # 'wage', 'homicide': for log siblings

    def __post_init__(self) -> None:
        self.joined_names = {p.info.joined for p in self.profiles.values()}

    def free(self, name: str) -> bool:
        return name not in self.taken and name not in self.blocked

    def pool(self, *kinds: str) -> list[ColumnProfile]:
        return [p for p in self.profiles.values() if self.free(p.name) and (not kinds or p.kind in kinds)]

    def column(self, role: str) -> str | None:
        value = self.roles.get(role)
        return value if isinstance(value, str) else None

    def assign(self, role: str, column: str | None, confidence: float, reason: str) -> None:
        if column is None:
            return
        self.roles[role] = column
        self.taken.add(column)
        self.confidence[role] = round(_clip01(confidence), 2)
        self.reasons[role] = reason

    def is_fixed(self, role: str) -> bool:
        return role in self.fixed.assigned()


def _choose(state: _State, role: str, scored: list[_Scored], threshold: float,
            same_measure: Callable[[str, str], bool] | None = None) -> _Scored | None:
    """Pick the best candidate above ``threshold``; record alternatives and confidence."""
    ranked = sorted(scored, key=lambda s: (-s.score, state.profiles[s.column].position))
    state.candidates[role] = [(s.column, round(_clip01(s.score), 3)) for s in ranked[:6]]
    if not ranked or ranked[0].score < threshold:
        return None
    best = ranked[0]
    rivals = [s for s in ranked[1:] if not (same_measure and same_measure(best.column, s.column))]
    rival = rivals[0] if rivals else None
    why = "; ".join(best.why) if best.why else "best available candidate"
    if rival is not None and rival.score > 0.5 * best.score:
        why += f" (next best: {rival.column})"
    state.assign(role, best.column, _confidence(best.score, rival.score if rival else 0.0), why)
    return best


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

def infer_roles(data: Dataset | pd.DataFrame, *, fixed: Roles | None = None) -> Mapping:
    """Guess every role from column names and value patterns.

    ``fixed`` roles are the user's choices: they are kept as given, their
    columns are never reused for another role, and inference fills only the
    roles left empty.
    """
    dataset = as_dataset(data)
    frame = dataset.frame
    fixed = fixed or Roles()
    fixed.check_columns(frame)
    state = _State(frame=frame, profiles=_profile_frame(frame), fixed=fixed)
    _apply_fixed(state)
    _block_unusable(state)
    for step in (_infer_time, _infer_unit, _infer_cohort, _infer_weight, _infer_lat_lon, _infer_cluster,
                 _infer_treatment, _infer_running, _infer_outcome, _infer_instrument,
                 _infer_named_extras, _infer_covariates):
        step(state)
    return _finish(state)


def _apply_fixed(state: _State) -> None:
    for role in state.fixed.assigned():
        value = getattr(state.fixed, role)
        state.roles[role] = value
        state.confidence[role] = 1.0
        state.reasons[role] = "set by you"
        if isinstance(value, tuple):
            state.taken.update(value)
        elif isinstance(value, str) and value in state.profiles:
            state.taken.add(value)


def _finish(state: _State) -> Mapping:
    values = {k: v for k, v in state.roles.items() if v is not None and v != ()}
    roles = Roles(**values)
    order = {r: i for i, r in enumerate(ROLE_ORDER)}
    assigned = roles.assigned()
    confidence = {k: state.confidence[k] for k in sorted(state.confidence, key=lambda r: order.get(r, 99))
                  if k in assigned}
    reasons = {k: state.reasons[k] for k in sorted(state.reasons, key=lambda r: order.get(r, 99))
               if k in assigned}
    excluded = {k: v for k, v in state.excluded.items() if k not in roles.columns()}
    return Mapping(roles=roles, confidence=confidence, reasons=reasons, excluded=excluded,
                   candidates=dict(state.candidates))


# --------------------------------------------------------------------------
# Columns no role may use
# --------------------------------------------------------------------------

def _block_unusable(state: _State) -> None:
    for p in state.profiles.values():
        if p.name in state.taken:
            continue
        reason = _leak_by_name(p.info) or _empty_or_constant(p)
        if reason:
            state.blocked[p.name] = reason
            state.excluded[p.name] = reason


def _leak_by_name(info: NameInfo) -> str | None:
    """Names of quantities only a simulation knows, or that encode the answer."""
    tokens = set(info.tokens)
    words = info.words
    if tokens & {"true", "truth", "oracle", "groundtruth"} and words:
        return "a true (simulated) quantity, unknown in real data: would leak the answer"
    if words in (("y",), ("mu",), ("po",), ("yhat",)) and info.trailing_digits in (("0",), ("1",)):
        return "looks like a potential outcome: would leak the answer"
    if "potential" in words and ("outcome" in words or "y" in words):
        return "looks like a potential outcome: would leak the answer"
    # "spend_if_no_coupon", "y_if_treated", "outcome_without_program": the outcome under another arm
    conditional = {"if", "without", "had", "under"}
    arms = {"no", "not", "none", "treated", "untreated", "control", "without", "treatment"}
    if conditional & set(words) and arms & set(words) and len(words) > 2:
        return "looks like the outcome under another treatment (a counterfactual): would leak the answer"
    for token, what in LEAK_TOKENS.items():
        if token in words:
            return f"looks like {what}: would leak the answer"
    if "effect" in words and ({"true", "individual", "treatment"} & set(words)):
        return "looks like a true treatment effect: would leak the answer"
    return None


def _empty_or_constant(p: ColumnProfile) -> str | None:
    if p.kind == "empty":
        return "missing in every row"
    if p.kind == "constant":
        value = p.levels[0] if p.levels else (f"{np.nanmax(p.values):g}" if p.values is not None else "")
        return f"the same value in every row ({value}): carries no information"
    return None


# --------------------------------------------------------------------------
# Time, unit, cohort
# --------------------------------------------------------------------------

def _time_score(p: ColumnProfile) -> _Scored | None:
    name, word = name_match(p.info, TIME_CUES, unlog=False)
    if name_match(p.info, TIME_NEGATIVE, unlog=False)[0] >= 0.5:
        name *= 0.3                       # 'yearborn', 'first_treat_year': dates of events
    if set(p.info.words) & set(DURATION_WORDS) and p.info.joined not in TIME_CUES:
        name *= 0.3
    pattern, what = _time_pattern(p, named=name > 0)
    if pattern == 0:
        return None
    why = [what] + ([f"named like time ('{word}')"] if name > 0 else [])
    return _Scored(p.name, 0.55 * name + 0.45 * pattern, why)


def _time_pattern(p: ColumnProfile, *, named: bool) -> tuple[float, str]:
    if p.kind == "datetime":
        return 1.0, "dates"
    if p.kind in ("category", "text") and p.date_share >= 0.9:
        if p.date_sortable:
            return 0.9, "date labels"
        return 0.4, "period labels that do not sort in time order as text"
    if p.kind != "numeric" or not p.is_integer or p.values is None:
        return 0.0, ""
    finite = p.values[np.isfinite(p.values)]
    lo, hi = float(finite.min()), float(finite.max())
    if not named and p.unique_ratio > 0.5:
        return 0.0, ""                    # unique integers without a time name are ids or counts
    if 1900 <= lo and hi <= 2100:
        return 1.0, f"year-like integers ({lo:.0f}-{hi:.0f})"
    if named and lo >= 0 and hi <= 1000:
        evenly_spaced = np.unique(np.diff(np.unique(finite))).size == 1
        return (0.9 if evenly_spaced else 0.7), f"{p.n_unique} integer periods ({lo:.0f}-{hi:.0f})"
    return 0.0, ""


def _infer_time(state: _State) -> None:
    if state.is_fixed("time"):
        return
    scored = [s for s in (_time_score(p) for p in state.pool()) if s]
    panel_units = {s.column: _best_panel_unit(state, s.column) for s in scored}
    for s in scored:
        unit = panel_units[s.column]
        if unit is not None:
            s.score += 0.1               # a time axis that, with a unit, identifies every row
            s.why.append(f"with {unit} it identifies each row (a panel)")
    _choose(state, "time", scored, threshold=0.45)


def _id_name(info: NameInfo) -> tuple[float, str | None]:
    strength, word = name_match(info, ID_CUES, unlog=False)
    raw = info.joined
    if len(raw) >= 3 and raw.endswith("id") and strength < 0.7:
        strength, word = 0.7, "…id"      # sid, studyid, userid
    return strength, word


def _is_id_like_values(p: ColumnProfile) -> bool:
    if p.kind in ("binary", "constant", "empty", "datetime"):
        return False
    if p.kind == "numeric":
        return p.is_integer
    return True                           # category or text labels


def _panel_fit(state: _State, unit: str, time: str) -> bool:
    """True when (unit, time) identifies each row and units recur over time."""
    pu, pt = state.profiles[unit], state.profiles[time]
    if pu.codes is None or pt.codes is None:
        return False
    ok = (pu.codes >= 0) & (pt.codes >= 0)
    if ok.sum() < 4 or pu.n_unique < 2 or pt.n_unique < 2:
        return False
    pairs = pu.codes[ok].astype(np.int64) * (pt.n_unique + 1) + pt.codes[ok]
    duplicated_share = 1.0 - np.unique(pairs).size / ok.sum()
    rows_per_unit = ok.sum() / pu.n_unique
    return duplicated_share <= 0.02 and rows_per_unit >= 1.5


def _best_panel_unit(state: _State, time: str) -> str | None:
    best, best_score = None, 0.0
    for p in state.pool():
        if p.name == time or not _is_id_like_values(p) or p.unique_ratio > 0.67:
            continue
        strength = _id_name(p.info)[0]
        if strength < 0.3 or not _panel_fit(state, p.name, time):
            continue
        if strength > best_score:
            best, best_score = p.name, strength
    return best


def _unit_score(state: _State, p: ColumnProfile, time: str | None) -> _Scored | None:
    if not _is_id_like_values(p):
        return None
    strength, word = _id_name(p.info)
    why = [f"named like an identifier ('{word}')"] if strength > 0 else []
    if time and _panel_fit(state, p.name, time):
        pattern = 1.0
        why.insert(0, f"with {time} it identifies each row (panel of {p.n_unique} units)")
    elif p.unique_ratio >= 0.98:
        pattern = 1.0 if strength > 0 or _is_row_number(p) else 0.4
        why.insert(0, "one distinct value per row")
    else:
        return None                       # repeated labels without time are groups (cluster)
    if strength == 0 and pattern < 1.0:
        return None
    return _Scored(p.name, 0.5 * strength + 0.5 * pattern, why)


def _is_row_number(p: ColumnProfile) -> bool:
    if p.kind != "numeric" or p.values is None or not p.is_integer:
        return False
    finite = p.values[np.isfinite(p.values)]
    return bool(np.all(np.diff(finite) > 0) or finite.max() - finite.min() + 1 == finite.size)


def _infer_unit(state: _State) -> None:
    if state.is_fixed("unit"):
        return
    time = state.column("time")
    scored = [s for s in (_unit_score(state, p, time) for p in state.pool()) if s]
    row_id = lambda name: state.profiles[name].unique_ratio >= 0.98
    # two row identifiers (seqn and id) are interchangeable, not rivals
    _choose(state, "unit", scored, threshold=0.5, same_measure=lambda a, b: row_id(a) and row_id(b))
    for s in scored:                       # other row identifiers are not covariates
        if state.free(s.column) and state.profiles[s.column].unique_ratio >= 0.98:
            state.excluded[s.column] = "an identifier (one distinct value per row), not a covariate"


def _infer_cohort(state: _State) -> None:
    if state.is_fixed("cohort"):
        return
    scored = []
    for p in state.pool("numeric"):
        strength, word = name_match(p.info, COHORT_CUES, unlog=False)
        if {"first", "treat"} <= set(p.info.words) or {"first", "treated"} <= set(p.info.words):
            strength, word = max(strength, 1.0), "first treated"
        if strength == 0 or not p.is_integer:
            continue
        pattern, what = _cohort_pattern(state, p)
        if pattern > 0:
            scored.append(_Scored(p.name, 0.5 * strength + 0.5 * pattern,
                                  [f"named like a treatment cohort ('{word}')", what]))
    _choose(state, "cohort", scored, threshold=0.6)


def _cohort_pattern(state: _State, p: ColumnProfile) -> tuple[float, str]:
    values = p.values[np.isfinite(p.values)]
    nonzero = np.unique(values[values != 0])
    if nonzero.size == 0 or nonzero.size > 50:
        return 0.0, ""
    fit, parts = 0.6, [f"{nonzero.size} start periods"]
    if (values == 0).any() or p.n_missing:
        fit += 0.2
        parts.append("0 or empty = never treated")
    unit = state.column("unit")
    if unit and _constant_within(state.profiles[unit], p):
        fit += 0.2
        parts.append(f"constant within each {unit}")
    return fit, ", ".join(parts)


def _constant_within(unit: ColumnProfile, p: ColumnProfile) -> bool:
    if unit.codes is None or p.values is None:
        return False
    frame = pd.DataFrame({"u": unit.codes, "v": p.values})
    return bool((frame[frame.u >= 0].groupby("u")["v"].nunique(dropna=False) <= 1).mean() >= 0.98)


# --------------------------------------------------------------------------
# Weight and geography
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Treatment
# --------------------------------------------------------------------------

def _instrument_name(p: ColumnProfile) -> tuple[float, str | None]:
    return name_match(p.info, INSTRUMENT_CUES, unlog=False)


def _treatment_candidates(state: _State) -> list[ColumnProfile]:
    cohort, time = state.column("cohort"), state.column("time")
    pool = [p for p in state.pool("binary", "numeric", "category") if p.name != cohort and p.missing_share < 0.9]
    if time:
        # a 0/1 that only marks periods (d88, post-2000) is a time dummy: it has no untreated
        # comparison within a period, so it cannot be the treatment
        pool = [p for p in pool if not (p.kind == "binary" and _function_of(p, state.profiles[time]))]
    return pool


def _function_of(p: ColumnProfile, group: ColumnProfile) -> bool:
    """True when ``p`` takes a single value within each level of ``group`` (levels must recur)."""
    if group.codes is None or p.codes is None or group.n_unique > group.n_valid / 2:
        return False
    frame = pd.DataFrame({"g": group.codes, "v": p.codes})
    frame = frame[(frame.g >= 0) & (frame.v >= 0)]
    return bool(len(frame) and (frame.groupby("g")["v"].nunique() <= 1).all())


def _treatment_score(state: _State, p: ColumnProfile, instruments: list[str]) -> _Scored | None:
    binary = p.kind == "binary"
    strength, word = name_match(p.info, TREATMENT_CUES)
    if not binary:
        dose, dose_word = name_match(p.info, DOSE_CUES)
        strength, word = (0.8 * strength, word) if 0.8 * strength >= dose else (dose, dose_word)
    pattern, balance, what = _treatment_pattern(p)
    if pattern == 0:
        return None
    value_cue = _labelled_arms(p)
    if value_cue > strength:
        strength, word = value_cue, None
    score = 0.55 * strength + 0.35 * pattern + 0.10 * balance
    why = [what]
    if word:
        why.append(f"named like a treatment ('{word}')")
    elif value_cue:
        why.append("its values name treated and control groups")
    first_stage = _first_stage_bonus(state, p, instruments, strength, why)
    score -= _treatment_penalties(p, binary, why, instrumented=first_stage > 0)
    lagged = _lag_of(state, p)
    if lagged:
        score -= 0.3
        why.append(f"but it looks like a lagged copy of {lagged}")
    score += _panel_adoption_bonus(state, p, why) + first_stage
    return _Scored(p.name, score, why)


def _treatment_pattern(p: ColumnProfile) -> tuple[float, float, str]:
    """(pattern fit, group balance fit, description)."""
    if p.kind == "binary":
        share = float(np.nanmean(p.values))
        balance = _clip01(min(share, 1 - share) / 0.1)
        fit = 1.0 if (p.positive_known or set(p.levels) == {"0", "1"}) else 0.8
        return fit, balance, p.describe()
    if p.kind == "category" and 3 <= p.n_unique <= 6:
        return 0.3, 0.0, f"{p.n_unique} labelled groups"
    if p.kind == "numeric" and p.values is not None:
        if p.is_integer and 3 <= p.n_unique <= 6:
            return 0.35, 0.0, f"{p.n_unique} levels (several arms or doses)"
        return 0.25, 0.0, p.describe()
    return 0.0, 0.0, ""


def _labelled_arms(p: ColumnProfile) -> float:
    """Value cue: labels such as treated/control or test/holdout name the arms."""
    if p.kind != "binary" or not p.positive_known:
        return 0.0
    squashed = {_squash(l) for l in p.levels}
    arm_words = {"treated", "treatment", "control", "untreated", "placebo", "exposed", "intervention",
                 "test", "holdout", "variant", "nottreated"}
    return 0.8 if squashed & arm_words else 0.0


def _treatment_penalties(p: ColumnProfile, binary: bool, why: list[str], *, instrumented: bool) -> float:
    penalty = 0.0
    demo, demo_word = name_match(p.info, DEMOGRAPHIC_CUES, unlog=False)
    dose, dose_word = name_match(p.info, DOSE_CUES)
    # years of education is a characteristic, unless an instrument moves it: then it is
    # the variable under study (Card's college proximity design)
    studied = not binary and instrumented and dose_word == demo_word
    if demo and not studied:
        penalty += 0.35 * demo
        why.append(f"but '{demo_word}' is usually a characteristic, not a treatment")
    outcome, outcome_word = name_match(p.info, OUTCOME_CUES)
    treat = name_match(p.info, TREATMENT_CUES)[0]
    if outcome > treat and outcome >= 0.5:     # weak verbs like 'got' alone do not count
        penalty += 0.5 * outcome
        why.append(f"but '{outcome_word}' sounds like an outcome")
    if set(p.info.words) & {"lead", "lag", "lags", "leads", "trend", "event", "rel"}:
        penalty += 0.3
    if p.info.words and p.info.words[-1] in ("sq", "squared", "cubed"):
        penalty += 0.3
    if _leak_like_propensity(p.info):
        penalty += 0.6
    return penalty


def _lag_of(state: _State, p: ColumnProfile) -> str | None:
    """'grant_1' next to 'grant' is last period's value of grant."""
    if p.info.trailing_digits != ("1",) or len(p.info.tokens) < 2:
        return None
    for q in state.profiles.values():
        if q.name != p.name and q.info.tokens == p.info.tokens[:-1]:
            return q.name
    return None


def _leak_like_propensity(info: NameInfo) -> bool:
    return bool(set(info.words) & set(PROPENSITY_WORDS))


def _panel_adoption_bonus(state: _State, p: ColumnProfile, why: list[str]) -> float:
    """0/1 that switches on once per unit and stays on: a staggered or 2x2 adoption."""
    unit, time = state.column("unit"), state.column("time")
    if p.kind != "binary" or not unit or not time:
        return 0.0
    frame = pd.DataFrame({"u": state.profiles[unit].codes, "t": state.profiles[time].codes,
                          "order": _time_order(state.profiles[time]), "d": p.values})
    frame = frame[(frame.u >= 0) & np.isfinite(frame.d)].sort_values(["u", "order"])
    if frame.empty:
        return 0.0
    steps = frame.groupby("u")["d"].diff().dropna()
    per_unit = frame.groupby("u")["d"].agg(["min", "max"])
    switchers = int(((per_unit["min"] == 0) & (per_unit["max"] == 1)).sum())
    if switchers == 0:
        if per_unit["max"].max() == 1:
            why.append("the same in every period of a unit (a treated-group indicator; the timing "
                       "comes from a cohort or post-period column)")
        return 0.0
    if (steps >= 0).all():
        # several adoption dates (staggered) is the clearer signature; one common date
        # is also what a period-by-group dummy looks like
        starts = frame[frame.d == 1].groupby("u")["order"].min().nunique()
        why.append(f"switches on once and stays on in {switchers} of {len(per_unit)} units (adoption"
                   + (f" at {starts} different times)" if starts > 1 else ")"))
        return 0.25 if starts > 1 else 0.15
    return 0.05                          # varies within units: at least not a fixed trait


def _time_order(p: ColumnProfile) -> np.ndarray:
    # codes are factorised in sorted order, so dates order chronologically
    return p.values if p.values is not None else p.codes.astype(float)


def _first_stage_bonus(state: _State, p: ColumnProfile, instruments: list[str], strength: float,
                       why: list[str]) -> float:
    """A named continuous candidate that the named instrument moves is the likely treatment."""
    if p.kind == "binary" or not instruments or strength == 0 or p.values is None:
        return 0.0
    best = 0.0
    for z in instruments:
        r = _corr(state.profiles[z].values, p.values)
        if np.isfinite(r) and abs(r) > abs(best):
            best = r
    if abs(best) < 0.03:
        return 0.0
    why.append(f"moves with the instrument-like column(s) {', '.join(instruments)} (r={best:.2f})")
    return 0.15 * _clip01(abs(best) / 0.1)


def _infer_treatment(state: _State) -> None:
    if state.is_fixed("treatment"):
        _record_treated_value(state)
        return
    pool = _treatment_candidates(state)
    named_instruments = [p.name for p in pool if _instrument_name(p)[0] >= 0.3 and p.values is not None]
    movers = [z for z in (*state.fixed.instrument, *named_instruments)
              if state.profiles[z].values is not None]
    scored = [s for s in (_treatment_score(state, p, movers)
                          for p in pool if p.name not in named_instruments) if s]
    best = max((s.score for s in scored), default=0.0)
    if best < 0.45:
        # no convincing treatment besides instrument-named columns: 'assigned' may be the treatment
        binaries = [state.profiles[z] for z in named_instruments if state.profiles[z].kind == "binary"]
        scored += [s for s in (_treatment_score(state, p, []) for p in binaries) if s]
    _choose(state, "treatment", scored, threshold=0.3)
    _record_treated_value(state)


def _record_treated_value(state: _State) -> None:
    treatment = state.column("treatment")
    if not treatment or state.is_fixed("treated_value") or treatment not in state.profiles:
        return
    p = state.profiles[treatment]
    if p.kind == "binary" and p.levels and set(p.levels) != {"0", "1"} and not _numeric_levels(p):
        sure = 0.95 if p.positive_known else 0.5
        how = "its label says so" if p.positive_known else "it is the rarer of two unrecognised labels: check it"
        state.roles["treated_value"] = p.positive
        state.confidence["treated_value"] = sure
        state.reasons["treated_value"] = f"'{p.positive}' read as treated ({how})"


def _numeric_levels(p: ColumnProfile) -> bool:
    try:
        [float(l) for l in p.levels]
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# Running variable and cutoff (regression discontinuity)
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Step:
    left: float           # last value on the lower side
    right: float          # first value on the upper side
    treated_above: bool
    sharpness: float      # share of rows a single threshold classifies correctly
    jump: float           # change in treated share just across the threshold


def _best_step(x: np.ndarray, t: np.ndarray) -> _Step | None:
    """Where does the 0/1 column ``t`` jump as ``x`` increases? (None if too little data)."""
    ok = np.isfinite(x) & np.isfinite(t)
    x, t = x[ok], t[ok]
    n = x.size
    if n < 50:
        return None
    order = np.argsort(x, kind="mergesort")
    xs, ts = x[order], t[order]
    ones = np.concatenate([[0.0], np.cumsum(ts)])
    total = ones[-1]
    k = max(20, int(0.05 * n))
    splits = np.arange(1, n)[xs[1:] != xs[:-1]]
    splits = splits[(splits >= max(k, int(0.05 * n))) & (splits <= min(n - k, int(0.95 * n)))]
    if splits.size == 0:
        return None
    # a running variable varies on both sides of its threshold (a dose is one value below)
    distinct_below = np.concatenate([[0], np.cumsum(xs[1:] != xs[:-1])])
    n_distinct = distinct_below[-1] + 1
    splits = splits[(distinct_below[splits - 1] + 1 >= 5) & (n_distinct - distinct_below[splits] >= 5)]
    if splits.size == 0:
        return None
    left_ones = ones[splits]
    above = ((splits - left_ones) + (total - left_ones)) / n
    below = (left_ones + (n - splits) - (total - left_ones)) / n
    sharp = np.maximum(above, below)
    jump = (ones[splits + k] - ones[splits]) / k - (ones[splits] - ones[splits - k]) / k
    # a real threshold also separates the two sides as wholes, not only next to it
    overall = (total - left_ones) / (n - splits) - left_ones / splits
    jump = np.where(np.abs(overall) >= 0.3, jump, 0.0)
    i = int(np.argmax(sharp)) if sharp.max() >= 0.97 else int(np.argmax(np.abs(jump)))
    s = splits[i]
    return _Step(left=float(xs[s - 1]), right=float(xs[s]), treated_above=bool(above[i] >= below[i]),
                 sharpness=float(sharp[i]), jump=float(jump[i]))


def _round_cutoff(left: float, right: float) -> tuple[float, bool]:
    """The roundest number between the two sides of a split (0, 50, 100 ... before 37.2)."""
    lo, hi = min(left, right), max(left, right)
    if lo <= 0 <= hi:
        return 0.0, True
    top = int(math.floor(math.log10(max(abs(lo), abs(hi))))) + 1
    for exponent in range(top, -7, -1):
        for unit in (10.0 ** exponent, 5 * 10.0 ** (exponent - 1)):
            candidate = math.ceil(lo / unit) * unit
            if candidate <= hi:
                return float(round(candidate, 10)), True
    return (lo + hi) / 2, False


def _running_candidates(state: _State) -> list[ColumnProfile]:
    families = _time_families(state.profiles)
    # a column measured after the others (wt82, x_post) cannot assign treatment
    return [p for p in state.pool("numeric") if p.n_unique >= 20 and p.values is not None
            and p.name not in state.excluded and _period_evidence(p, families)[0] == 0]


def _infer_running(state: _State) -> None:
    if state.is_fixed("running"):
        _fill_cutoff_only(state)
        return
    treatment = state.column("treatment")
    found = None
    if treatment and state.profiles.get(treatment) and state.profiles[treatment].kind == "binary":
        found = _running_from_switch(state, state.profiles[treatment])
    if found is None:
        found = _running_from_name(state)
    if found is None:
        return
    column, score, cutoff, cutoff_conf, why, cutoff_why = found
    state.assign("running", column, score, why)
    if not state.is_fixed("cutoff"):
        state.roles["cutoff"] = cutoff
        state.confidence["cutoff"] = round(cutoff_conf, 2)
        state.reasons["cutoff"] = cutoff_why


def _running_from_switch(state: _State, treatment: ColumnProfile) -> tuple | None:
    scored: list[tuple[float, ColumnProfile, _Step]] = []
    for p in _running_candidates(state):
        if _dose_of(p, treatment.values, treatment.name):
            continue                      # an amount that is 0 for the untreated is a dose, not a score
        step = _best_step(p.values, treatment.values)
        if step is None:
            continue
        name = name_match(p.info, RUNNING_CUES, unlog=False)[0]
        sharp = step.sharpness >= 0.97
        if not (sharp or (abs(step.jump) >= 0.5 and name >= 0.4) or abs(step.jump) >= 0.7):
            continue
        fit = step.sharpness if sharp else _clip01(abs(step.jump))
        scored.append((0.7 * fit + 0.3 * name, p, step))
    if not scored:
        return None
    scored.sort(key=lambda s: -s[0])
    state.candidates["running"] = [(p.name, round(_clip01(score), 3)) for score, p, _ in scored[:6]]
    score, p, step = scored[0]
    rival = scored[1][0] if len(scored) > 1 else 0.0
    cutoff, round_number = _round_cutoff(step.left, step.right)
    side = "at or above" if step.treated_above else "at or below"
    kind = (f"sharp: {step.sharpness:.0%} of rows follow the threshold" if step.sharpness >= 0.97
            else f"fuzzy: the treated share jumps by {abs(step.jump):.2f} across it")
    why = f"{treatment.name} switches where {p.name} crosses {cutoff:g} ({kind})"
    fit = step.sharpness if step.sharpness >= 0.97 else _clip01(abs(step.jump))
    cutoff_conf = fit * (1.0 if round_number else 0.8)
    cutoff_why = (f"{treatment.name} is 1 {side} {cutoff:g}"
                  + (" (a round number between the two sides)" if round_number else ""))
    return p.name, _confidence(score, rival), cutoff, cutoff_conf, why, cutoff_why


def _running_from_name(state: _State) -> tuple | None:
    """No treatment switches anywhere: trust only an unmistakable running-variable name,
    on a variable centred at zero unless the name says 'running' or 'forcing' outright."""
    best = None
    for p in _running_candidates(state):
        strength, word = name_match(p.info, RUNNING_CUES, unlog=False)
        if strength < 0.6 or name_match(p.info, OUTCOME_CUES)[0] >= strength:
            continue                      # 'profit_margin' is an outcome, not a score
        finite = p.values[np.isfinite(p.values)]
        centred = finite.min() < 0 < finite.max()
        if (centred or strength >= 0.9) and (best is None or strength > best[0]):
            best = (strength, p, word)
    if best is None:
        return None
    strength, p, word = best
    cutoff, how, conf = _guess_cutoff(p.values)
    why = (f"named like a running variable ('{word}'); no 0/1 column switches at a threshold of it, "
           "so the cutoff is a guess")
    return p.name, 0.6 * strength, cutoff, conf, why, how


def _guess_cutoff(values: np.ndarray) -> tuple[float, str, float]:
    v = values[np.isfinite(values)]
    if v.min() < 0 < v.max():
        return 0.0, "values run from negative to positive: 0 is the natural threshold (check it)", 0.45
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    cutoff, round_number = _round_cutoff(q1, q3)
    near = abs(cutoff - median) / (q3 - q1 + 1e-12)
    return cutoff, f"round number {cutoff:g} near the median ({median:g}): a guess, check it", \
        round(0.35 * (1 - _clip01(near)) * (1.0 if round_number else 0.5), 2)


def _fill_cutoff_only(state: _State) -> None:
    running = state.column("running")
    if state.is_fixed("cutoff") or not running:
        return
    treatment = state.column("treatment")
    p = state.profiles[running]
    if p.values is None:
        return
    if treatment and state.profiles[treatment].kind == "binary":
        step = _best_step(p.values, state.profiles[treatment].values)
        if step is not None and (step.sharpness >= 0.97 or abs(step.jump) >= 0.5):
            cutoff, _ = _round_cutoff(step.left, step.right)
            state.roles["cutoff"] = cutoff
            state.confidence["cutoff"] = round(max(step.sharpness, abs(step.jump)) if step.sharpness >= 0.97
                                               else abs(step.jump), 2)
            state.reasons["cutoff"] = f"{treatment} switches where {running} crosses {cutoff:g}"
            return
    cutoff, how, conf = _guess_cutoff(p.values)
    state.roles["cutoff"], state.confidence["cutoff"], state.reasons["cutoff"] = cutoff, conf, how


# --------------------------------------------------------------------------
# Outcome
# --------------------------------------------------------------------------

def _time_families(profiles: dict[str, ColumnProfile]) -> dict[str, tuple[int, ...]]:
    """Stems measured in several years (re74, re75, re78) -> the years seen.

    A stem whose numbered members are not all year-like (trend_1 ... trend_51)
    is a list, not a time series, and is left out.
    """
    members: dict[str, list[NameInfo]] = {}
    for p in profiles.values():
        if p.info.trailing_digits and p.info.stem:
            members.setdefault(p.info.stem, []).append(p.info)
    families = {}
    for stem, infos in members.items():
        if any(not i.years for i in infos) or len(infos) > 8:
            continue
        years = tuple(sorted({y for i in infos for y in i.years}))
        if len(years) >= 2:
            families[stem] = years
    return families


def _period_evidence(p: ColumnProfile, families: dict[str, tuple[int, ...]]) -> tuple[float, float, str]:
    """(post-period fit 0..1, baseline penalty, description) from years and words in the name."""
    words = set(p.info.words)
    years = families.get(p.info.stem)
    if years and p.info.years:
        change = len(p.info.years) == 2
        if max(p.info.years) == years[-1]:
            what = (f"a change between {min(p.info.years)} and {max(p.info.years)}" if change
                    else f"measured last ({_short_years(years)})")
            return (1.0 if change else 0.9), 0.0, what
        return 0.0, 0.25, f"measured earlier ({max(p.info.years)} of {_short_years(years)}): a baseline"
    if words & set(POST_WORDS):
        return 0.8, 0.0, f"named as measured after ('{sorted(words & set(POST_WORDS))[0]}')"
    if words & set(BASELINE_WORDS):
        return 0.0, 0.25, f"named as measured before ('{sorted(words & set(BASELINE_WORDS))[0]}')"
    return 0.0, 0.0, ""


def _short_years(years: tuple[int, ...]) -> str:
    return ", ".join(str(y) for y in years)


def _outcome_pattern(p: ColumnProfile) -> tuple[float, str]:
    if p.kind == "binary":
        return 0.5, p.describe()
    if p.kind == "numeric" and p.values is not None:
        if p.n_unique >= 10:
            return 1.0, p.describe()
        return 0.8, p.describe()
    return 0.0, ""


def _log_bonus(state: _State, p: ColumnProfile) -> float:
    """Prefer the log version (lwage over wage) when the level is strictly positive."""
    level = _level_sibling(state, p)
    if level is None or level.values is None:
        return 0.0
    v = level.values[np.isfinite(level.values)]
    return 0.06 if v.size and v.min() > 0 else 0.0


def _level_sibling(state: _State, p: ColumnProfile) -> ColumnProfile | None:
    target = p.info.joined if p.info.logged else None
    if target is None:
        for word in p.info.words:
            target = _unlog(word, state.joined_names) or target
    if not target:
        return None
    for q in state.profiles.values():
        if q.name != p.name and q.info.joined == target and not q.info.logged \
                and q.info.trailing_digits == p.info.trailing_digits:
            return q
    return None


def _measure_key(state: _State, name: str) -> str:
    """Columns that measure the same thing (re74/re78, wage/lwage) share a key."""
    p = state.profiles[name]
    sibling = _level_sibling(state, p)
    base = sibling.info if sibling is not None else p.info
    return "".join(w for w in base.words) or name


def _outcome_score(state: _State, p: ColumnProfile, families: dict[str, tuple[int, ...]],
                   last_position: int) -> _Scored | None:
    pattern, what = _outcome_pattern(p)
    if pattern == 0:
        return None
    name, word = name_match(p.info, OUTCOME_CUES)
    post, baseline, when = _period_evidence(p, families)
    score = 0.5 * name + 0.25 * post + 0.25 * pattern + _log_bonus(state, p)
    if post == 1.0 and len(p.info.years) == 2:
        score += 0.05                      # a post-minus-pre change is the classic outcome
    why = [what] + ([f"named like an outcome ('{word}')"] if name else []) + ([when] if when else [])
    score -= baseline + _outcome_penalties(p, why)
    if p.missing_share > MOSTLY_MISSING:
        score -= 0.2
    if p.position == last_position:
        score += 0.02                      # tables often end with the outcome: a tie-breaker only
    return _Scored(p.name, score, why)


def _outcome_penalties(p: ColumnProfile, why: list[str]) -> float:
    penalty = 0.0
    demo, demo_word = name_match(p.info, DEMOGRAPHIC_CUES, unlog=False)
    if demo:
        penalty += 0.35 * demo
        why.append(f"but '{demo_word}' is usually a characteristic")
    outcome = name_match(p.info, OUTCOME_CUES)[0]
    for cues, weight in ((TREATMENT_CUES, 0.5), (INSTRUMENT_CUES, 0.4), (RUNNING_CUES, 0.3)):
        strength = name_match(p.info, cues, unlog=False)[0]
        if strength > outcome:
            penalty += weight * strength
    if p.info.words and p.info.words[-1] in ("sq", "squared", "cubed"):
        penalty += 0.3
    if _leak_like_propensity(p.info):
        penalty += 0.6
    time_like = _time_score(p)
    if time_like and time_like.score >= 0.6:
        penalty += 0.3
        why.append("but it looks like a time index")
    return penalty


def _infer_outcome(state: _State) -> None:
    if state.is_fixed("outcome"):
        return
    families = _time_families(state.profiles)
    treatment = state.column("treatment")
    derived = set(_treatment_derived(state, treatment)) if treatment else set()
    last = max((p.position for p in state.pool("numeric", "binary")), default=-1)
    scored = [s for s in (_outcome_score(state, p, families, last) for p in state.pool("numeric", "binary")
                          if p.name not in derived) if s]
    _choose(state, "outcome", scored, threshold=0.1,
            same_measure=lambda a, b: _measure_key(state, a) == _measure_key(state, b))


# --------------------------------------------------------------------------
# Instrument, cluster and the rarely-inferred roles
# --------------------------------------------------------------------------

def _infer_instrument(state: _State) -> None:
    if state.is_fixed("instrument"):
        return
    treatment = state.column("treatment")
    t_values = state.profiles[treatment].values if treatment in state.profiles else None
    scored = []
    for p in state.pool("binary", "numeric"):
        strength, word = _instrument_name(p)
        if strength < 0.3 or p.values is None:
            continue
        r = _corr(p.values, t_values) if t_values is not None else float("nan")
        relevance = _clip01(abs(r) / 0.1) if np.isfinite(r) else 0.0
        why = [f"named like an instrument ('{word}')"]
        if np.isfinite(r):
            why.append(f"moves with the treatment (r={r:.2f})" if relevance > 0.3
                       else f"barely moves with the treatment (r={r:.2f})")
        why.append("whether it affects the outcome only through the treatment cannot be checked from data")
        scored.append(_Scored(p.name, strength * (0.6 + 0.4 * relevance), why))
    if not scored or treatment is None:
        state.candidates["instrument"] = [(s.column, round(s.score, 3)) for s in scored]
        return
    scored.sort(key=lambda s: -s.score)
    state.candidates["instrument"] = [(s.column, round(s.score, 3)) for s in scored[:6]]
    chosen = [s for s in scored if s.score >= 0.3]
    if not chosen:
        return
    # an instrument's validity is untestable, so its confidence never exceeds 0.75
    state.roles["instrument"] = tuple(s.column for s in chosen)
    state.taken.update(s.column for s in chosen)
    state.confidence["instrument"] = round(min(0.75, _confidence(chosen[0].score, 0.0)), 2)
    state.reasons["instrument"] = "; ".join(chosen[0].why)


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


# --------------------------------------------------------------------------
# Covariates and the leakage guard
# --------------------------------------------------------------------------

def _treatment_derived(state: _State, treatment: str) -> dict[str, str]:
    """Columns that restate the treatment: lockstep copies, doses, sub-indicators, event dummies."""
    t = state.profiles[treatment].values if treatment in state.profiles else None
    if t is None:
        return {}
    binary = state.profiles[treatment].kind == "binary"
    out: dict[str, str] = {}
    ever = _ever_treated_rows(state, t) if binary else None
    for p in state.pool("numeric", "binary"):
        if p.values is None:
            continue
        reason = _lockstep(p, t, treatment)
        if binary and not reason:
            reason = (_dose_of(p, t, treatment) or _nested_in(p, t, treatment)
                      or _event_dummy(p, t, ever, treatment))
        if reason:
            out[p.name] = reason
    return out


def _lockstep(p: ColumnProfile, t: np.ndarray, treatment: str) -> str | None:
    r = _corr(p.values, t)
    if np.isfinite(r) and abs(r) >= TREATMENT_LOCKSTEP:
        return (f"moves in lockstep with the treatment {treatment} (r={r:.2f}): a restatement of it, "
                "not a covariate")
    return None


def _dose_of(p: ColumnProfile, t: np.ndarray, treatment: str) -> str | None:
    if p.kind != "numeric":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t)
    if ok.sum() < 20 or t[ok].min() == t[ok].max():
        return None
    zero = p.values[ok] == 0
    if np.mean(zero == (t[ok] == 0)) >= 0.99:
        return f"zero exactly when {treatment} is 0: the treatment's dose or amount, not a covariate"
    return None


def _nested_in(p: ColumnProfile, t: np.ndarray, treatment: str) -> str | None:
    if p.kind != "binary":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t)
    ones = ok & (p.values == 1)
    if ones.sum() >= 10 and t[ones].min() == 1 and ones.sum() < (ok & (t == 1)).sum():
        return f"is 1 only in rows where {treatment} is 1: derived from the treatment (e.g. an event-time dummy)"
    return None


def _ever_treated_rows(state: _State, t: np.ndarray) -> np.ndarray | None:
    unit, time = state.column("unit"), state.column("time")
    if not unit or not time:
        return None
    codes = state.profiles[unit].codes
    frame = pd.DataFrame({"u": codes, "d": np.nan_to_num(t)})
    ever = frame.groupby("u")["d"].transform("max").to_numpy()
    return np.where(codes >= 0, ever, np.nan)


def _event_dummy(p: ColumnProfile, t: np.ndarray, ever: np.ndarray | None, treatment: str) -> str | None:
    """In a panel, a 0/1 that is 1 only before treatment in units treated later: a lead dummy."""
    if ever is None or p.kind != "binary":
        return None
    ok = np.isfinite(p.values) & np.isfinite(t) & np.isfinite(ever)
    ones = ok & (p.values == 1)
    if ones.sum() < 3 or np.nanmean(ever) > 0.8:
        return None
    if ever[ones].min() == 1 and t[ones].max() == 0:
        return (f"is 1 only before treatment in units treated later: derived from {treatment}'s timing "
                "(a lead dummy)")
    return None


def _outcome_leaks(state: _State, outcome: str) -> dict[str, str]:
    y = state.profiles[outcome].values
    if y is None:
        return {}
    out: dict[str, str] = {}
    for p in state.pool("numeric", "binary"):
        if p.values is None:
            continue
        r = _corr(p.values, y)
        if np.isfinite(r) and abs(r) >= LEAK_CORRELATION:
            out[p.name] = f"near-perfect correlate of the outcome (r={r:.2f}): would leak the answer"
        elif np.isfinite(r) and abs(r) >= 0.5:
            rho = _rank_corr(p.values, y)
            if np.isfinite(rho) and abs(rho) >= RANK_LEAK_CORRELATION:
                out[p.name] = (f"ranks rows exactly like the outcome (rank r={rho:.2f}): a rescaled copy "
                               "(e.g. its log), would leak the answer")
    return out


def _later_measurements(state: _State, outcome: str) -> dict[str, str]:
    """When the outcome is dated (re78, wt82_71), columns dated as late are post-treatment."""
    families = _time_families(state.profiles)
    info = state.profiles[outcome].info
    if info.stem not in families or not info.years:
        return {}
    post_year = max(info.years)
    out = {}
    for p in state.pool():
        if p.info.years and max(p.info.years) >= post_year:
            out[p.name] = (f"measured in {max(p.info.years)}, the outcome's period: it may be affected by the "
                           "treatment")
    return out


def _other_outcomes(state: _State, outcome: str | None) -> dict[str, str]:
    families = _time_families(state.profiles)
    out = {}
    for p in state.pool("numeric", "binary"):
        strength, word = name_match(p.info, OUTCOME_CUES)
        if _period_evidence(p, families)[1] > 0:
            continue                      # re74 before re78: a baseline, the best covariate there is
        if strength >= STRONG_OUTCOME and p.name != outcome:
            out[p.name] = (f"named like an outcome ('{word}'): usually measured after treatment; add it back "
                           "if it was recorded before")
    return out


def _unusable_as_covariate(state: _State, p: ColumnProfile) -> str | None:
    if p.kind == "datetime" or (p.kind in ("category", "text") and p.date_share >= 0.9):
        return "a date or period label, not a covariate"
    if p.kind == "text":
        return f"text with {p.n_unique} distinct values: too many to use as a covariate"
    if p.kind in ("category", "binary") and p.values is None and p.unique_ratio >= 0.98:
        return "an identifier (one distinct value per row), not a covariate"
    if p.missing_share > MOSTLY_MISSING:
        return f"mostly missing ({p.missing_share:.0%} of rows)"
    if _leak_like_propensity(p.info):
        return "looks like an estimated propensity score: a function of treatment assignment, not a covariate"
    if time_like := _time_score(p):
        if time_like.score >= 0.6:
            return "another time index, not a covariate"
    return None


def _infer_covariates(state: _State) -> None:
    outcome, treatment = state.column("outcome"), state.column("treatment")
    checks: list[dict[str, str]] = []
    if outcome and outcome in state.profiles:
        checks += [_outcome_leaks(state, outcome), _later_measurements(state, outcome)]
    if treatment and treatment in state.profiles:
        checks.append(_treatment_derived(state, treatment))
    checks.append(_other_outcomes(state, outcome))
    for found in checks:
        for column, reason in found.items():
            state.excluded.setdefault(column, reason)
    for p in state.pool():
        if p.name in state.excluded:
            continue
        reason = _unusable_as_covariate(state, p)
        if reason:
            state.excluded[p.name] = reason
    if state.is_fixed("covariates"):
        return
    kept = tuple(p.name for p in state.pool() if p.name not in state.excluded)
    if not kept:
        return
    state.roles["covariates"] = kept
    state.confidence["covariates"] = _covariate_confidence(state, kept)
    held_out = f"; {len(state.excluded)} kept out (see excluded)" if state.excluded else ""
    state.reasons["covariates"] = (
        f"the {len(kept)} remaining usable column(s){held_out}. "
        "Whether each was measured before treatment cannot be checked from data")


def _covariate_confidence(state: _State, kept: tuple[str, ...]) -> float:
    """As sure as the outcome and treatment they depend on, less for gappy columns."""
    anchors = [state.confidence.get(r, 0.5) for r in ("outcome", "treatment") if r in state.roles]
    anchor = min(anchors) if anchors else 0.5
    complete = float(np.mean([state.profiles[c].missing_share <= 0.2 for c in kept]))
    return round(anchor * (0.7 + 0.3 * complete), 2)
