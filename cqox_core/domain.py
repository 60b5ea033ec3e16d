"""Domain detection: which field a table comes from, with the evidence.

The domain tunes what the app says next (the money view of a marketing test,
the clinical wording of a health study, the policy framing of a program
evaluation). It is read from the vocabulary of the column names, from the
labels inside text columns and from the file name, weighting the columns that
play the main roles (outcome, treatment) more than the rest: a table of
earnings outcomes with an education covariate is a labour-market (policy)
study, not an education one.

Labour-market programs (job training such as the NSW experiment behind the
LaLonde data, wage subsidies, unemployment insurance) count as **policy**:
they are public programs evaluated on earnings. Credit, lending and investing
count as **finance**.

**"other" only when nothing points elsewhere.** The answer is a field as soon
as one word of its vocabulary appears as a whole word in a column name, a
label or the file name (a score of at least ``MIN_EVIDENCE``, i.e. one
population-survey word such as ``state`` or ``county``); "other" means no
column, label or file name carries any such word (partial matches inside a
longer word, worth less than that, do not count). Weak evidence still gives a
field, with a low confidence that says how weak it is: an organ-donation
panel of states is read as policy (a state panel) at a low confidence rather
than as "other". Month dummies (``jan`` ... ``dec``, three or more of them)
are calendar columns and count for no field (``apr`` is not an annual
percentage rate there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .data import Dataset, as_dataset
from .mapping import NameInfo, infer_roles, name_match, parse_name
from .mapping.cues import MONTHS
from .roles import Roles

DOMAINS = ("healthcare", "finance", "marketing", "education", "policy", "manufacturing")

#: Each domain's vocabulary: word -> (weight, what it means in plain words).
LEXICON: dict[str, dict[str, tuple[float, str]]] = {
    "healthcare": {
        **dict.fromkeys(("smoke", "smoking", "smoker", "smk", "cig", "cigs", "cigarette", "tobacco",
                         "qsmk"), (0.9, "smoking")),
        **dict.fromkeys(("sbp", "dbp", "bp", "cholesterol", "glucose", "bmi", "hba1c", "pulse",
                         "heartrate", "bodyweight", "bwght", "birthweight", "lbw"), (0.9, "clinical measures")),
        **dict.fromkeys(("asthma", "bronch", "bronchitis", "tb", "tuberculosis", "diabetes", "hepatitis",
                         "cancer", "tumor", "tumour", "polio", "colitis", "ulcer", "pepticulcer", "hbp",
                         "hypertension", "stroke", "cardiac", "hiv", "aids", "covid", "infection",
                         "disease", "illness", "symptom", "symptoms", "headache", "cough", "chroniccough",
                         "allergies", "allergy", "hayfever", "depression", "obesity", "weakheart",
                         "poorhlth"), (0.9, "medical conditions")),
        **dict.fromkeys(("patient", "patients", "hospital", "clinic", "doctor", "physician", "nurse",
                         "therapy", "drug", "medication", "hbpmed", "vaccine", "vaccinated", "surgery",
                         "icu", "admission", "readmit", "readmission", "readmitted", "diagnosis",
                         "mortality", "death", "died", "deaths", "survival", "medicare", "medicaid",
                         "health", "hlth", "pregnancy", "pregnancies", "prenatal", "infant",
                         "cardiology", "oncology", "pediatrics", "placebo", "organ", "organs", "donor",
                         "donors", "donation", "donations", "transplant", "transplants", "lifeexp",
                         "expectancy", "longevity", "cholera", "epidemic"), (0.9, "care and outcomes")),
        **dict.fromkeys(("alcohol", "alcoholpy", "drinking", "exercise", "diet", "pain", "otherpain",
                         "injury", "dose", "dosage", "height"), (0.5, "health behaviour")),
    },
    "finance": {
        **dict.fromkeys(("loan", "loans", "loanamt", "credit", "debt", "bank", "mortgage", "mortg",
                         "lender", "borrower", "collateral", "underwriting", "fico", "apr", "ltv", "dti",
                         "delinquent", "delinquency", "defaulted", "repayment", "repaid"),
                        (1.0, "credit and lending")),
        **dict.fromkeys(("default", "interest", "payment", "payments", "bill", "billing", "balance",
                         "late", "approve", "approval", "reject", "fraud"), (0.6, "payments and credit risk")),
        **dict.fromkeys(("stock", "stocks", "portfolio", "asset", "assets", "equity", "dividend", "returns",
                         "savings", "saving", "wealth", "pension", "invest", "investment", "trading",
                         "nettfa", "tfa", "ira", "pira", "networth", "netw", "liq", "deposit",
                         "withdrawal", "transaction", "cash", "premium", "insurance", "claim"),
                        (0.8, "assets and investing")),
    },
    "marketing": {
        **dict.fromkeys(("campaign", "ad", "ads", "advert", "advertising", "impression", "impressions",
                         "click", "clicks", "ctr", "cpc", "cpm", "roas", "uplift", "marketing", "promo",
                         "promotion", "coupon", "email", "emails", "mailer", "newsletter", "banner"),
                        (1.0, "campaigns and advertising")),
        **dict.fromkeys(("conversion", "converted", "convert", "purchase", "purchased", "purchases",
                         "cart", "basket", "checkout", "churn", "churned", "retention", "loyalty",
                         "subscriber", "subscription", "signup", "engagement", "pageviews", "sessions",
                         "session", "referral", "acquisition", "shopper", "brand", "audience", "segment",
                         "channel"), (0.9, "customer behaviour")),
        **dict.fromkeys(("customer", "customers", "spend", "revenue", "sales", "discount", "offer",
                         "voucher", "store", "visits", "visit", "orders", "order", "app", "user", "users",
                         "price", "prices", "pricing", "volume", "sold", "demand", "restaurant"),
                        (0.5, "customers and sales")),
    },
    "education": {
        **dict.fromkeys(("school", "schools", "student", "students", "teacher", "teachers", "classroom",
                         "pupil", "pupils", "kindergarten", "college", "university", "campus", "tuition",
                         "scholarship", "curriculum", "faculty", "academic", "homework", "tutor",
                         "tutoring"), (1.0, "schools and students")),
        **dict.fromkeys(("gpa", "exam", "exams", "math", "reading", "sci", "science", "literacy",
                         "achievement", "iq", "sat", "grade", "grades", "test", "dropout", "droprate",
                         "gradrate", "graduate", "graduation", "hsgrad", "enroll", "enrolled",
                         "enrollment", "attendance"), (0.8, "learning outcomes")),
        **dict.fromkeys(("educ", "education", "schooling", "degree", "fatheduc", "motheduc"),
                        (0.8, "schooling")),
        **dict.fromkeys(("nodegree",), (0.5, "schooling")),
    },
    "policy": {
        **dict.fromkeys(("policy", "program", "programme", "law", "laws", "reform", "legislation",
                         "mandate", "ban", "subsidy", "transfer", "transfers", "welfare", "pubwelfare",
                         "benefit", "benefits", "government", "gov", "public", "participation",
                         "eligibility", "eligible", "repeal", "abortion", "minwage", "tax", "taxes",
                         "inspection", "inspections", "regulation", "violation", "violations"),
                        (0.8, "public programs and law")),
        **dict.fromkeys(("takeup", "uptake"), (0.6, "programme take-up")),
        **dict.fromkeys(("unemployment", "unemployed", "unem", "unemp", "unemployrt", "ur", "employment",
                         "employed", "employ", "jobs", "job", "labor", "labour", "wage", "wages",
                         "earnings", "earn", "poverty", "re", "training", "emp"), (0.7, "jobs and earnings")),
        **dict.fromkeys(("crime", "crimes", "crmrte", "homicide", "murder", "robbery", "burglary",
                         "larceny", "assault", "theft", "police", "prison", "prisoner", "incarceration",
                         "arrest", "arrests", "court", "judge", "prisons", "prisoners", "inmates",
                         "traffic", "accidents", "fatalities"), (0.9, "crime and justice")),
        **dict.fromkeys(("vote", "voting", "voter", "voters", "election", "elections", "democrat",
                         "republican", "turnout", "voteshare", "demvoteshare", "legislator"),
                        (0.9, "elections")),
        **dict.fromkeys(("black", "white", "hisp", "hispanic", "married", "marr", "nonwhite", "citizen",
                         "immigrant", "veteran", "state", "county", "city", "country"), (0.25, "population surveys")),
        **dict.fromkeys(("gdp", "gnp", "inflation", "cpi"), (0.5, "the economy")),
    },
    "manufacturing": {
        **dict.fromkeys(("machine", "machines", "factory", "plant", "defect", "defects", "defective",
                         "scrap", "rework", "throughput", "downtime", "batch", "operator", "maintenance",
                         "sensor", "vibration", "torque", "rpm", "oee", "mtbf", "assembly", "weld",
                         "spindle", "calibration", "tolerance", "conveyor", "lathe", "tooling",
                         "manufacturing", "manuf", "mfg", "production", "produced"),
                        (1.0, "production and quality")),
        **dict.fromkeys(("line", "shift", "yield", "temperature", "pressure", "cycle", "cycletime",
                         "supplier", "inventory", "failure", "failures", "quality", "tool",
                         "component", "parts", "units", "output"), (0.6, "operations")),
    },
}
#: Role weights: the treatment names the lever being studied, so it says most about the
#: field; outcomes such as earnings or health are shared by several fields.
ROLE_WEIGHTS = {"treatment": 3.5, "outcome": 2.5, "instrument": 1.5, "running": 1.5}
EXCLUDED_WEIGHT = 0.5
VALUE_WEIGHT = 0.5
SOURCE_WEIGHT = 1.0
#: Below one whole word of a field's vocabulary (0.25 x 0.95 for 'state' as one of several words):
#: nothing points to any field, and the honest answer is "other".
MIN_EVIDENCE = 0.2
MAX_LABEL_LEVELS = 50


@dataclass(frozen=True, eq=False)
class Domain:
    """The detected field, how sure we are, and the columns and values behind it."""

    name: str
    confidence: float
    evidence: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": self.confidence, "evidence": list(self.evidence)}


@dataclass
class _Hit:
    column: str
    weight: float
    concept: str
    role: str | None
    value: str | None = None


def detect_domain(data: Dataset | pd.DataFrame, roles: Roles | None = None) -> Domain:
    """Score each domain from names, labels and the file name; weak evidence gives 'other'.

    Without ``roles`` the auto mapping is run first, so the outcome and
    treatment can weigh more than the other columns.
    """
    dataset = as_dataset(data)
    excluded: set[str] = set()
    if roles is None:
        mapping = infer_roles(dataset)
        roles, excluded = mapping.roles, set(mapping.excluded)
    columns = _columns_of(dataset.frame, _role_of(roles), excluded)
    hits = {d: _domain_hits(d, columns, dataset.source) for d in DOMAINS}
    scores = {d: round(float(sum(h.weight for h in hs)), 3) for d, hs in hits.items()}
    return _decide(scores, hits)


def _role_of(roles: Roles) -> dict[str, str]:
    out: dict[str, str] = {}
    for role in ("outcome", "treatment", "running"):
        column = getattr(roles, role)
        if column:
            out[column] = role
    for column in roles.instrument:
        out.setdefault(column, "instrument")
    return out


#: Each domain's word weights, built once (name_match remembers what it has seen per word list).
_WEIGHTS: dict[str, dict[str, float]] = {d: {w: weight for w, (weight, _) in lex.items()} for d, lex in LEXICON.items()}


def _match(info: NameInfo, domain: str) -> tuple[float, str | None]:
    strength, word = name_match(info, _WEIGHTS[domain])
    if info.words == ("wt",) and info.years and domain == "healthcare":
        return 0.6, "wt"               # wt71, wt82: body weight measured in a survey year
    return strength, word


@dataclass(frozen=True)
class _Column:
    """What one column offers as evidence, read once for all domains."""

    name: str
    info: NameInfo | None             # None for a calendar dummy ('feb' among jan ... dec)
    role: str | None
    excluded: bool
    labels: tuple[tuple[str, NameInfo], ...]


def _columns_of(frame: pd.DataFrame, role_of: dict[str, str], excluded: set[str]) -> list[_Column]:
    calendar = _month_dummies(frame.columns)
    out = []
    for position, (original, dtype) in enumerate(zip(frame.columns, frame.dtypes)):
        column = str(original)
        numeric = pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        out.append(_Column(column, None if column in calendar else parse_name(column), role_of.get(column),
                           column in excluded, () if numeric else _labels(frame.iloc[:, position])))
    return out


def _domain_hits(domain: str, columns: list[_Column], source: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for c in columns:
        strength, word = _match(c.info, domain) if c.info is not None else (0.0, None)
        if strength > 0 and word:
            weight = strength * ROLE_WEIGHTS.get(c.role or "", 1.0)
            weight *= EXCLUDED_WEIGHT if c.excluded else 1.0
            hits.append(_Hit(c.name, weight, LEXICON[domain].get(word, (0, "health measures"))[1], c.role))
        value_hit = _label_hit(domain, c)
        if value_hit:
            hits.append(value_hit)
    source_hit = _source_hit(domain, source)
    if source_hit:
        hits.append(source_hit)
    return hits


def _month_dummies(columns: pd.Index) -> set[str]:
    """Columns named only by a month ('feb', 'March'), when three or more are: calendar dummies."""
    months = {str(c) for c in columns if (words := parse_name(c).words) and all(w in MONTHS for w in words)}
    return months if len(months) >= 3 else set()


def _labels(series: pd.Series) -> tuple[tuple[str, NameInfo], ...]:
    """The labels of a text column with few levels, parsed like names."""
    levels = pd.unique(series.dropna())
    if len(levels) == 0 or len(levels) > MAX_LABEL_LEVELS:
        return ()
    return tuple((str(level), parse_name(level)) for level in levels)


def _label_hit(domain: str, column: _Column) -> _Hit | None:
    """Labels inside a text column ('cardiology', 'email') count, once per column."""
    best: tuple[float, str | None] = (0.0, None)
    for level, info in column.labels:
        strength, word = _match(info, domain)
        if strength > best[0]:
            best = (strength, level)
    if best[1] is None:
        return None
    return _Hit(column.name, VALUE_WEIGHT * best[0], "labels", None, value=best[1])


def _source_hit(domain: str, source: str) -> _Hit | None:
    if not source or source.startswith("<"):
        return None
    # every word of a file name was chosen to describe the table: each one counts
    words = parse_name(Path(source).stem).words
    strength = sum(_match(parse_name(word), domain)[0] for word in words)
    if strength == 0:
        return None
    return _Hit(f"file {Path(source).name}", SOURCE_WEIGHT * strength, "file name", None)


def _decide(scores: dict[str, float], hits: dict[str, list[_Hit]]) -> Domain:
    ranked = sorted(scores, key=lambda d: -scores[d])
    top, second = ranked[0], ranked[1]
    strength = 1 - math.exp(-scores[top] / 3.0)
    if scores[top] < MIN_EVIDENCE:
        hints = [f"weak hints only: {d} ({', '.join(_columns(hits[d])[:3])})" for d in ranked if scores[d] > 0][:2]
        evidence = tuple(hints) or ("no column names or values point to a particular field",)
        # low by construction: the less evidence for anything, the less we claim
        return Domain("other", round(0.3 * (1 - strength), 2), evidence, scores)
    dominance = (scores[top] - scores[second]) / scores[top]
    confidence = round(min(0.99, strength * (0.5 + 0.5 * dominance)), 2)
    return Domain(top, confidence, _evidence(hits[top]), scores)


def _columns(hits: list[_Hit]) -> list[str]:
    ordered = sorted(hits, key=lambda h: -h.weight)
    seen: list[str] = []
    for h in ordered:
        if h.value is None and not h.column.startswith("file ") and h.column not in seen:
            seen.append(h.column)
    return seen


def _evidence(hits: list[_Hit]) -> tuple[str, ...]:
    """Plain lines: the roles first, then the columns, the labels and the file name."""
    lines: list[str] = []
    for h in sorted(hits, key=lambda h: -h.weight):
        if h.role in ("outcome", "treatment") and h.value is None:
            lines.append(f"{h.role} {h.column} is about {h.concept}")
    columns = _columns(hits)
    if columns:
        more = f" and {len(columns) - 8} more" if len(columns) > 8 else ""
        lines.append("columns " + ", ".join(columns[:8]) + more)
    concepts = sorted({h.concept for h in hits if h.value is None and h.concept != "file name"})
    if concepts:
        lines.append("vocabulary of " + ", ".join(concepts))
    for h in hits:
        if h.value is not None:
            lines.append(f"values '{h.value}' in column {h.column}")
    for h in hits:
        if h.column.startswith("file "):
            lines.append(h.column)
    return tuple(lines)
