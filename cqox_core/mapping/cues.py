"""The vocabulary of the guessers: cue words per role, with weights, and shared thresholds.

Weights say how strongly a word points at a role (1 = as clear as a name can
be). Words of three letters or fewer only match whole tokens; single letters
only match a name that is that letter (plus digits). Cues are generic words,
never the names of one dataset.
"""
from __future__ import annotations

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
    # laws and policies switched on or off; the action a logging policy took (bandit logs)
    "repeal": 0.7, "repealed": 0.7, "legalized": 0.6, "ban": 0.6, "mandate": 0.6, "action": 0.7,
    "actions": 0.6,
}
#: Words that make a non-binary column a plausible (continuous or dose) treatment.
DOSE_CUES: dict[str, float] = {
    "dose": 0.9, "dosage": 0.9, "schooling": 0.8, "educ": 0.7, "education": 0.7, "hours": 0.4,
    "price": 0.5, "amount": 0.4, "intensity": 0.4, "exposure": 0.6, "budget": 0.5, "tax": 0.4,
}
OUTCOME_CUES: dict[str, float] = {
    "y": 1.0, "outcome": 1.0, "outcomes": 1.0, "response": 0.7, "target": 0.5, "label": 0.5,
    "factual": 0.9, "reward": 1.0, "rewards": 1.0,
    # money and work
    "earnings": 1.0, "earning": 1.0, "earn": 0.9, "wage": 1.0, "wages": 1.0, "salary": 0.9,
    # income is far more often a characteristic (family, median household income) than the outcome
    "income": 0.35, "pay": 0.5, "sales": 0.9, "revenue": 1.0, "spend": 0.9, "spending": 0.9,
    "profit": 0.8, "gmv": 0.9, "ltv": 0.8, "employed": 0.7, "employment": 0.7, "unemployed": 0.5,
    # customer behaviour
    "conversion": 1.0, "converted": 1.0, "convert": 0.9, "purchase": 0.9, "purchased": 0.9,
    "purchases": 0.9, "orders": 0.7, "clicks": 0.7, "click": 0.6, "churn": 0.9, "churned": 0.9,
    "retention": 0.8, "retained": 0.8, "signup": 0.7, "bookings": 0.7, "usage": 0.6, "demand": 0.6,
    "consumption": 0.5, "takeup": 1.0, "uptake": 1.0, "responded": 0.7, "got": 0.5, "took": 0.5,
    "visited": 0.5, "attended": 0.5, "completed": 0.6, "success": 0.6, "voted": 0.6,
    "turnout": 0.7, "support": 0.3, "rate": 0.4, "vote": 0.6, "votes": 0.6, "voteshare": 0.6,
    "approve": 0.8, "approved": 0.8, "approval": 0.7, "rejected": 0.6, "denied": 0.6, "late": 0.6,
    "claims": 0.5, "duration": 0.5, "durat": 0.5,
    # learning
    "score": 0.6, "scores": 0.6, "exam": 0.6, "gpa": 0.8, "grade": 0.5, "math": 0.5,
    "reading": 0.5, "achievement": 0.8, "graduated": 0.7, "graduation": 0.7, "dropout": 0.7,
    # health
    "death": 1.0, "died": 1.0, "dead": 0.9, "mortality": 1.0, "survival": 0.9, "survived": 0.9,
    "readmit": 1.0, "readmitted": 1.0, "readmission": 1.0, "recovery": 0.8, "recovered": 0.8,
    "cured": 0.8, "hospitalized": 0.7, "infected": 0.6, "weight": 0.5, "wt": 0.5, "bmi": 0.5,
    "sbp": 0.6, "dbp": 0.5, "cholesterol": 0.5, "glucose": 0.6, "hba1c": 0.7, "pain": 0.5,
    "bwght": 0.8, "birthweight": 0.8, "lbw": 0.7, "deaths": 1.0, "lifeexp": 0.9, "expectancy": 0.9,
    "longevity": 0.8,
    # public safety
    "homicide": 0.8, "homicides": 0.8, "murder": 0.8, "crime": 0.6, "crimes": 0.6,
    "crmrte": 0.6, "arrests": 0.5, "robbery": 0.4, "burglary": 0.4, "larceny": 0.4,
    "assault": 0.4, "theft": 0.4, "prison": 0.5, "prisoners": 0.5, "incarceration": 0.5,
    "accidents": 0.6, "fatalities": 0.7, "crashes": 0.6,
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
    "income": 0.5, "inc": 0.5, "faminc": 0.8, "hhincome": 0.8,
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
#: Before/after words that are also written glued to the measure: prewage, lagvote, postscore.
GLUED_POST = ("post", "after", "followup", "final", "next", "later")
GLUED_BASELINE = ("pre", "prev", "previous", "prior", "base", "baseline", "lag", "lagged", "past", "initial",
                  "before", "hist")
#: Month words in names (LateApril, bill_sept): columns of one measure taken in different months.
MONTHS: dict[str, int] = {
    **{m: i + 1 for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
                                       "nov", "dec"))},
    **{m: i + 1 for i, m in enumerate(("january", "february", "march", "april", "may", "june", "july",
                                       "august", "september", "october", "november", "december"))},
    "sept": 9,
}
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
