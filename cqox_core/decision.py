"""Go / Canary / Hold, with reason codes, direction-aware, and the money view.

Every decision knows which direction of the outcome is good (``better``:
"higher" or "lower"). The user says so; otherwise :func:`default_direction`
reads the outcome's name and the domain (readmission, default, churn,
mortality, cost, ... -> lower is better) and the decision reports the default
with its reason. "Good side" below means the side of zero the good direction
points to; with ``min_effect`` m, the smallest improvement that matters, in
outcome units.

Rules, in order (the first that fires sets the label; every code that applies
is listed):

1.  any gate fails                                     -> HOLD   HOLD_<GATE>
2.  the confidence interval includes zero              -> HOLD   HOLD_NO_CLEAR_EFFECT
3.  the interval lies wholly on the harmful side       -> HOLD   HOLD_HARMFUL
4.  methods of the same estimand and design find clear
    effects of opposite sign                           -> HOLD   HOLD_METHODS_DISAGREE
5.  money view given and profit CI below zero          -> HOLD   HOLD_UNPROFITABLE
6.  any gate warns                                     -> CANARY CANARY_<GATE>
7.  estimates of the same estimand and design have
    non-overlapping intervals (and no sign flip)       -> CANARY CANARY_ESTIMATES_DISAGREE
8.  min_effect given, the whole interval below m       -> CANARY CANARY_BELOW_MIN_EFFECT
9.  min_effect given, the interval straddles m         -> CANARY CANARY_MIN_EFFECT_UNCERTAIN
10. money view given and profit CI spans zero          -> CANARY CANARY_PROFIT_UNCERTAIN
11. overall CAS below 7                                -> CANARY CANARY_LOW_ASSURANCE
12. otherwise                                          -> GO     GO_ALL_CHECKS_PASS

Go: act on it. Canary: roll out to a small share first and measure.
Hold: do not act on this number yet; the codes say what to fix.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

from .cas import CAS, comparable, design_of
from .errors import MethodError
from .results import EffectResult, to_jsonable

Label = Literal["GO", "CANARY", "HOLD"]
Better = Literal["higher", "lower"]
#: Below this overall CAS a clear, checked effect is still only a canary.
LOW_ASSURANCE = 7.0

# -- which direction is good -----------------------------------------------------------------------

#: Outcome-name cues meaning "lower is better" in any domain: cue -> what it names (shown in the reason).
#: A cue matches a word of the name that starts or ends with it ("readmitted", "totalcost").
LOWER_CUES: dict[str, str] = {
    "readmi": "readmission", "mortal": "mortality", "death": "death", "died": "death", "dead": "death",
    "fatal": "fatalities", "churn": "churn", "default": "default", "delinquen": "delinquency",
    "arrears": "arrears", "bankrupt": "bankruptcy", "foreclos": "foreclosure", "cost": "cost",
    "expense": "expense", "complication": "complications", "adverse": "adverse events",
    "infection": "infection", "relapse": "relapse", "dropout": "dropout", "attrition": "attrition",
    "absen": "absence", "defect": "defects", "scrap": "scrap", "rework": "rework", "downtime": "downtime",
    "failure": "failures", "error": "errors", "fraud": "fraud", "loss": "losses", "crime": "crime",
    "arrest": "arrests", "recidiv": "recidivism", "unemploy": "unemployment", "poverty": "poverty",
    "accident": "accidents", "injur": "injuries", "emission": "emissions", "pollut": "pollution",
    "complaint": "complaints", "unsubscrib": "unsubscribes", "bounce": "bounces", "delay": "delays",
    "latency": "latency", "wait": "waiting", "overdose": "overdoses", "hospitali": "hospitalisation",
    "symptom": "symptoms", "pain": "pain", "smoker": "smoking", "smoking": "smoking",
    "cigar": "cigarette consumption", "tobacco": "tobacco use",
}
#: Names that look like a lower-is-better cue but are not ("weight_loss" is the goal of a diet).
HIGHER_PHRASES: dict[str, str] = {"weightloss": "weight loss"}
#: Cues made of several words, matched on the name with separators removed.
LOWER_PHRASES: dict[str, str] = {"dropout": "dropout", "droppedout": "dropout", "noshow": "no-shows",
                                 "lengthofstay": "length of stay", "chargeoff": "charge-offs", "writeoff": "write-offs"}
#: Cues that count as lower-is-better only in one domain (elsewhere they are usually revenue or ambiguous).
DOMAIN_LOWER_CUES: dict[str, dict[str, str]] = {
    "healthcare": {"charge": "charges", "spending": "spending", "expenditure": "expenditure", "los": "length of stay",
                   "sbp": "blood pressure", "dbp": "blood pressure", "bloodpressure": "blood pressure",
                   "cholesterol": "cholesterol", "hba1c": "HbA1c", "glucose": "glucose", "visits": "visits"},
    "finance": {"npl": "non-performing loans", "writeoff": "write-offs", "chargeoff": "charge-offs"},
    "marketing": {"cac": "acquisition cost", "cancel": "cancellations"},
    "education": {"suspen": "suspensions", "expul": "expulsions", "repeat": "grade repetition"},
    "manufacturing": {"waste": "waste", "leadtime": "lead time", "cycletime": "cycle time", "energy": "energy use"},
    "policy": {"homicide": "homicides", "violen": "violence", "evict": "evictions", "homeless": "homelessness"},
}
#: Words that turn a lower-is-better cue around ("cost_savings", "mortality_reduction", "defect_free").
REVERSING_CUES: dict[str, str] = {
    "saving": "a saving", "reduc": "a reduction", "avoid": "avoidance", "prevent": "prevention",
    "avert": "averting", "free": "being free of it", "surviv": "survival", "retention": "retention",
    "retain": "retention", "recover": "recovery", "quit": "quitting", "cessation": "cessation",
}
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
#: Endings a four-letter cue may carry and still be the same word ("costs", "died", "waiting").
_ENDINGS = ("", "s", "es", "d", "ed", "ing", "ting")


@dataclass(frozen=True)
class Direction:
    """Which direction of the outcome is good, who said so, and why."""

    better: Better
    source: Literal["user", "default"]
    reason: str

    @property
    def sign(self) -> float:
        """+1 when higher is better, -1 when lower is better: sign x effect is the improvement."""
        return 1.0 if self.better == "higher" else -1.0

    def to_dict(self) -> dict[str, Any]:
        return {"better": self.better, "source": self.source, "reason": self.reason}


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(name)]


def _match(words: Sequence[str], compact: str, cues: dict[str, str], phrases: dict[str, str] | None = None
           ) -> str | None:
    for word in words:
        for cue, meaning in cues.items():
            # three letters (los, sbp, npl): whole words only; four (cost, dead, pain): also with a plural
            # or verb ending ("costs", "died"), never as a prefix ("deadline") or suffix ("spain"); five
            # or more: any word starting or ending with the cue ("readmitted", "churned", "healthcharge")
            if word == cue or (len(cue) >= 4 and any(word == cue + e for e in _ENDINGS)) \
                    or (len(cue) >= 5 and (word.startswith(cue) or word.endswith(cue))):
                return meaning
    for cue, meaning in (phrases or {}).items():
        if cue in compact:
            return meaning
    return None


def default_direction(outcome: str | None, domain: str | None = None) -> Direction:
    """The default good direction of ``outcome`` in ``domain``, with the reason shown to the user."""
    if not outcome:
        return Direction("higher", "default", "No outcome name to read, so higher is taken as better (the "
                                              "default); say which direction is good if a lower value is.")
    words = _words(str(outcome))
    compact = "".join(words)
    label = f"'{outcome}'"
    if (higher := _match([], compact, {}, HIGHER_PHRASES)) is not None:
        return Direction("higher", "default", f"The outcome {label} names {higher}, where higher is better (the "
                                              "default; say which direction is good if not).")
    lower = _match(words, compact, LOWER_CUES, LOWER_PHRASES)
    where = ""
    if lower is None and domain in DOMAIN_LOWER_CUES:
        lower = _match(words, compact, DOMAIN_LOWER_CUES[domain])
        where = f" in the {domain} domain" if lower else ""
    if lower is not None:
        reverse = _match(words, compact, REVERSING_CUES)
        if reverse is not None:
            return Direction("higher", "default",
                             f"The outcome {label} is named like {lower} but also like {reverse}, which turns it "
                             "around: higher is better (the default; say which direction is good if not).")
        return Direction("lower", "default",
                         f"The outcome {label} is named like {lower}{where}, where lower is better (the default; "
                         "say which direction is good if not).")
    return Direction("higher", "default",
                     f"Nothing in the outcome name {label} says lower is better, so higher is taken as better "
                     "(the default; say which direction is good if a lower value is the good result).")


def resolve_direction(better: Better | Direction | str | None, outcome: str | None,
                      domain: str | None = None) -> Direction:
    """The user's direction when given, else the default for this outcome and domain."""
    if isinstance(better, Direction):
        return better
    if better is None:
        return default_direction(outcome, domain)
    text = str(better).strip().lower()
    if text not in ("higher", "lower"):
        raise MethodError(f"Which direction is good must be 'higher' or 'lower', got {better!r}.",
                          "Use --better higher (more of the outcome is good) or --better lower (less is good).",
                          code="E-DECISION-001")
    name = f"'{outcome}'" if outcome else "the outcome"
    return Direction(text, "user", f"Set by the user: {text} values of {name} are better.")  # type: ignore[arg-type]


def check_min_effect(min_effect: float | None) -> float | None:
    if min_effect is None:
        return None
    value = float(min_effect)
    if not (math.isfinite(value) and value >= 0):
        raise MethodError(f"The minimum effect of interest must be a number of zero or more, got {min_effect!r}.",
                          "Give the smallest improvement that matters, in outcome units and as a positive number "
                          "(it is read in the good direction), e.g. --min-effect 0.5.", code="E-DECISION-002")
    return value


# -- money ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Money:
    """Expected profit per treated unit: improvement x value_per_unit - cost_per_treated.

    The improvement is the effect in the good direction (the effect when higher is
    better, minus the effect when lower is better), so value_per_unit is the value
    of one unit of improvement (one readmission avoided, one unit more revenue).
    """

    value_per_unit: float
    cost_per_treated: float
    profit_per_treated: float
    profit_ci_lower: float
    profit_ci_upper: float
    treated_units: int | None = None
    total_profit: float | None = None
    better: Better = "higher"

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.__dict__)


def money_view(result: EffectResult, value_per_unit: float, cost_per_treated: float,
               treated_units: int | None = None, better: Better | Direction | None = "higher") -> Money:
    """Profit per treated unit with the CI carried through the linear map."""
    direction = resolve_direction(better, result.roles.get("outcome") if result.roles else None)
    s = direction.sign
    lo, hi = sorted((s * result.ci_lower * value_per_unit, s * result.ci_upper * value_per_unit))
    profit = s * result.estimate * value_per_unit - cost_per_treated
    total = profit * treated_units if treated_units else None
    return Money(value_per_unit, cost_per_treated, profit, lo - cost_per_treated, hi - cost_per_treated,
                 treated_units, total, direction.better)


# -- the decision -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Decision:
    label: Label
    reason_codes: tuple[str, ...]
    explanation: str
    money: Money | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)
    direction: Direction | None = None
    min_effect: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable({"label": self.label, "reason_codes": list(self.reason_codes),
                            "explanation": self.explanation, "reasons": list(self.reasons),
                            "money": self.money.to_dict() if self.money else None,
                            "direction": self.direction.to_dict() if self.direction else None,
                            "min_effect": self.min_effect})


def _num(x: float) -> str:
    return f"{x:.4g}"


def _interval(r: EffectResult) -> str:
    return f"{_num(r.estimate)}, {1 - r.alpha:.0%} CI {_num(r.ci_lower)} to {_num(r.ci_upper)}"


def _finite_ci(r: EffectResult) -> bool:
    return math.isfinite(r.ci_lower) and math.isfinite(r.ci_upper)


def _sign_flip(result: EffectResult, peers: Sequence[EffectResult]) -> bool:
    group = [result, *peers]
    pos = any(r.ci_lower > 0 for r in group if _finite_ci(r))
    neg = any(r.ci_upper < 0 for r in group if _finite_ci(r))
    return pos and neg


def _apart(a: EffectResult, b: EffectResult) -> bool:
    """Intervals that do not overlap. Estimates on the same data are positively correlated, so the
    variance of their difference is below se_a^2 + se_b^2 < (se_a + se_b)^2: non-overlap is a
    conservative sign that the gap is not sampling noise."""
    return a.ci_lower > b.ci_upper or b.ci_lower > a.ci_upper


def disagreement(result: EffectResult, peers: Sequence[EffectResult]) -> str | None:
    """A sentence naming the estimates whose intervals cannot explain their gap, or None.

    ``peers``: the other results of the same estimand and design. An estimate is outlying when its
    interval misses those of more than half of the others; with no such majority, the pairs that
    miss each other are named.
    """
    group = [r for r in (result, *peers) if _finite_ci(r) and math.isfinite(r.estimate)]
    if len(group) < 2:
        return None
    misses = {id(a): [b for b in group if b is not a and _apart(a, b)] for a in group}
    if not any(misses.values()):
        return None
    others = len(group) - 1
    outliers = [r for r in group if len(misses[id(r)]) > others / 2]
    what = f"{str(result.estimand).upper()} estimates of the same design"
    if outliers and (len(outliers) < len(group) / 2 or len(group) == 2):
        agreeing = sorted(r.estimate for r in group if all(r is not o for o in outliers))
        centre = agreeing[len(agreeing) // 2] if agreeing else math.nan
        named = "; ".join(f"{r.method} ({_interval(r)})" for r in outliers)
        if len(group) == 2:
            return (f"The two {what} disagree beyond their intervals: {named}. Intervals this far apart are not "
                    "sampling noise: one of the methods' assumptions or settings does not fit these data.")
        verb = "lies" if len(outliers) == 1 else "lie"
        return (f"{named} {verb} outside the intervals of the other {what} (which centre on {_num(centre)}). "
                "Intervals this far apart are not sampling noise: check that method's assumptions or settings "
                "before relying on any one number.")
    pairs = sorted({tuple(sorted((a.method, b.method))) for a in group for b in misses[id(a)]})
    shown = ", ".join(f"{a} vs {b}" for a, b in pairs[:4]) + (" and more" if len(pairs) > 4 else "")
    return (f"Several {what} disagree beyond their intervals ({shown}): the gap is not sampling noise, so the "
            "methods' assumptions do not all fit these data.")


def _harm_sentence(result: EffectResult, direction: Direction) -> str:
    outcome = f"'{result.roles['outcome']}'" if result.roles and result.roles.get("outcome") else "the outcome"
    moves = "raises" if result.estimate > 0 else "lowers"
    return (f"The effect is clearly on the harmful side: the treatment {moves} {outcome} by "
            f"{_num(abs(result.estimate))} ({1 - result.alpha:.0%} CI {_num(result.ci_lower)} to "
            f"{_num(result.ci_upper)}), and {direction.better} is better. Acting on it would make things worse.")


def decide(result: EffectResult, *, cas: CAS | None = None, others: Sequence[EffectResult] = (),
           value_per_unit: float | None = None, cost_per_treated: float = 0.0,
           treated_units: int | None = None, better: Better | Direction | str | None = None,
           min_effect: float | None = None, domain: str | None = None) -> Decision:
    """The decision for the headline ``result`` (``others``: the rest of the analysis).

    ``better``: "higher" or "lower" (which direction of the outcome is good); None takes the
    default for the outcome's name and ``domain`` (see :func:`default_direction`).
    ``min_effect``: the smallest improvement that matters, in outcome units (optional).
    """
    outcome = result.roles.get("outcome") if result.roles else None
    direction = resolve_direction(better, outcome, domain)
    min_effect = check_min_effect(min_effect)
    hold: list[str] = []
    canary: list[str] = []
    hold_reasons: list[str] = []
    canary_reasons: list[str] = []
    for gate in result.gates:
        if gate.status == "fail":
            hold.append(f"HOLD_{gate.name.upper()}")
            hold_reasons.append(gate.message)
        elif gate.status == "warn":
            canary.append(f"CANARY_{gate.name.upper()}")
            canary_reasons.append(gate.message)
    s = direction.sign
    good_lo, good_hi = sorted((s * result.ci_lower, s * result.ci_upper))
    clear = _finite_ci(result) and (good_lo > 0 or good_hi < 0)
    if not clear:
        hold.append("HOLD_NO_CLEAR_EFFECT")
        hold_reasons.append("The confidence interval includes no effect, so the data do not show a clear effect.")
    elif good_hi < 0:
        hold.append("HOLD_HARMFUL")
        hold_reasons.append(_harm_sentence(result, direction))
    peers = comparable(result, others)
    if _sign_flip(result, peers):
        hold.append("HOLD_METHODS_DISAGREE")
        hold_reasons.append("Methods estimating the same effect with the same design find clear effects in "
                            "opposite directions.")
    elif (sentence := disagreement(result, peers)) is not None:
        canary.append("CANARY_ESTIMATES_DISAGREE")
        canary_reasons.append(sentence)
    if clear and good_lo > 0 and min_effect is not None:
        level = f"{1 - result.alpha:.0%}"
        if good_hi < min_effect:
            canary.append("CANARY_BELOW_MIN_EFFECT")
            canary_reasons.append(f"The effect is clearly there but too small to matter: even the optimistic end of "
                                  f"the {level} interval is an improvement of {_num(good_hi)}, below the minimum "
                                  f"effect of interest ({_num(min_effect)}).")
        elif good_lo < min_effect:
            canary.append("CANARY_MIN_EFFECT_UNCERTAIN")
            canary_reasons.append(f"The improvement is clear, but the {level} interval ({_num(good_lo)} to "
                                  f"{_num(good_hi)}) includes values below the minimum effect of interest "
                                  f"({_num(min_effect)}).")
    money = None
    if value_per_unit is not None:
        money = money_view(result, value_per_unit, cost_per_treated, treated_units, direction)
        if money.profit_ci_upper < 0:
            hold.append("HOLD_UNPROFITABLE")
            hold_reasons.append(f"Even the optimistic end of the interval loses money "
                                f"({money.profit_ci_upper:.2f} per treated unit).")
        elif money.profit_ci_lower < 0:
            canary.append("CANARY_PROFIT_UNCERTAIN")
            canary_reasons.append(f"The profit interval runs from {money.profit_ci_lower:.2f} to "
                                  f"{money.profit_ci_upper:.2f} per treated unit, so it may lose money.")
    if cas is not None and cas.overall < LOW_ASSURANCE:
        canary.append("CANARY_LOW_ASSURANCE")
        weakest = min(cas.components(), key=lambda k: cas.components()[k])
        canary_reasons.append(f"The Causal Assurance Score is {cas.overall:.1f} of 10 (below {LOW_ASSURANCE:g}); "
                              f"its weakest part is {weakest} ({cas.components()[weakest]:.1f}).")
    if hold:
        return Decision("HOLD", tuple(hold + canary), "Do not act on this number yet: " + " ".join(hold_reasons),
                        money, tuple(hold_reasons), direction, min_effect)
    if canary:
        text = (f"The effect is clear and on the good side ({direction.better} is better), but not everything "
                "checks out: roll out to a small group first and measure. " + " ".join(canary_reasons))
        return Decision("CANARY", tuple(canary), text, money, tuple(canary_reasons), direction, min_effect)
    text = (f"The effect is clear and on the good side ({direction.better} is better)"
            + (f", at least the minimum effect of interest ({_num(min_effect)})" if min_effect is not None else "")
            + ", every check passes" + (" and the assurance score is high." if cas is not None else "."))
    return Decision("GO", ("GO_ALL_CHECKS_PASS",), text, money, (), direction, min_effect)


__all__ = ["Decision", "Direction", "Money", "decide", "default_direction", "design_of", "disagreement",
           "money_view", "resolve_direction"]
