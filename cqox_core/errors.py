"""Typed errors: every failure a user can cause carries a code, a message and a hint.

Codes are stable strings (``E-DATA-003``) so the CLI, the app and scripts can
act on them. The message says what went wrong in plain language; the hint says
what to do next.

:data:`CATALOGUE` lists every code with its one meaning: one failure, one code,
whichever module raises it (tests/test_error_catalogue.py checks that every
code raised under cqox_core is listed and every listed code is raised).
docs/ERRORS.md is generated from it by ``python scripts/make_error_docs.py``.
"""
from __future__ import annotations

#: Code -> one-line meaning. Grouped by family; a new failure gets the next free number of its family.
CATALOGUE: dict[str, str] = {
    # --- the base classes' defaults (every raise in cqox_core names a specific code instead)
    "E-CQOX-000": "An error CQOx raised on purpose, without a more specific code.",
    "E-DATA-000": "A data problem without a more specific code.",
    "E-ROLE-000": "A role problem without a more specific code.",
    "E-EST-000": "An estimation problem without a more specific code.",
    "E-METHOD-000": "A method or parameter problem without a more specific code.",
    "E-STORE-000": "A saved-analysis store problem without a more specific code.",
    "E-USER-000": "A user-account problem without a more specific code.",
    # --- reading the file (cqox_core/data)
    "E-DATA-001": "The file was not found, is a folder, or cannot be opened.",
    "E-DATA-002": "The input is not a supported file type or data object.",
    "E-DATA-003": "The file is larger than the byte limit, or too large to read into memory.",
    "E-DATA-004": "The file has more data rows than the limit (for Parquet and Excel: as the file declares).",
    "E-DATA-005": "The file has more columns than the limit.",
    "E-DATA-006": "The file is empty (no bytes, or only whitespace).",
    "E-DATA-007": "The file holds no data rows (a header only, no worksheet, or no records).",
    "E-DATA-008": "The file cannot be read as a table (binary data, bad JSON, ragged rows, an unclosed quote).",
    "E-DATA-009": "Two columns (or JSON fields) have the same name.",
    "E-DATA-010": "The text is not valid in the encoding its byte-order mark declares.",
    "E-DATA-011": "An archive bomb: an .xlsx or Parquet file that decompresses to far too much.",
    "E-DATA-012": "A damaged, truncated or misnamed Parquet or Excel file.",
    "E-DATA-013": "JSON that is not a flat list of records.",
    "E-DATA-014": "A CQOX_MAX_* setting that is not a positive whole number.",
    "E-DATA-015": "Too many cells (rows x columns): over the table size budget (CQOX_MAX_CELLS).",
    # --- roles: which column plays which part
    "E-ROLE-001": "A role the method needs (a column, or the cutoff) is not set.",
    "E-ROLE-002": "A role names a column the data do not have.",
    "E-ROLE-003": "The treatment gives nothing to compare: one value (or none at all), or too few rows in a group.",
    "E-ROLE-004": "The outcome is missing in every row.",
    "E-ROLE-005": "Too few usable rows to estimate an effect.",
    "E-ROLE-006": "The outcome or the running variable is not numeric.",
    "E-ROLE-007": "The cutoff is not a number.",
    "E-ROLE-008": "An unknown role name.",
    "E-ROLE-009": "The treated value does not occur in the treatment column.",
    "E-ROLE-010": "The treatment has more than two values and the method compares two groups.",
    "E-ROLE-011": "A covariate cannot be used as numbers (text with too many categories, or text where numbers "
                  "are needed).",
    "E-ROLE-012": "The outcome or the treatment is also listed as a covariate.",
    "E-ROLE-013": "The time column is neither numbers nor dates.",
    "E-ROLE-014": "The treatment of a panel or a time series is not coded 0/1.",
    "E-ROLE-015": "A unit appears more than once in the same period of a panel.",
    "E-ROLE-016": "The data have a single period, and the design compares before with after.",
    "E-ROLE-017": "In repeated cross-sections the treatment differs between rows of the same group and period.",
    "E-ROLE-030": "The dose takes too few distinct values for a dose-response curve.",
    "E-ROLE-031": "The dose is not numeric in every row.",
    "E-ROLE-032": "The target policy names actions that were never logged.",
    "E-ROLE-020": "One column is given two roles that must differ (e.g. outcome and treatment).",
    "E-ROLE-021": "Outcome values too large to compute with (beyond 1e100 or infinite): rescale.",
    # roles of mediation (mediator), proximal (negative controls, given as parameters) and transport (site)
    "E-ROLE-101": "The mediator is the outcome column.",
    "E-ROLE-102": "The mediator is the treatment column.",
    "E-ROLE-103": "The mediator is also listed as a covariate (covariates are measured before treatment).",
    "E-ROLE-104": "The mediator is not numeric.",
    "E-ROLE-111": "Proximal inference has no negative-control exposure (--param nce=COLUMN).",
    "E-ROLE-112": "Proximal inference has no negative-control outcome (--param nco=COLUMN).",
    "E-ROLE-113": "A negative control is the outcome, the treatment or a covariate, or is named as both kinds.",
    "E-ROLE-114": "A negative control is not numeric.",
    "E-ROLE-121": "The site column is not coded 1 (target population) / 0 (study sample).",
    "E-ROLE-122": "No rows of the study sample (site = 0).",
    "E-ROLE-123": "No usable rows of the target population (site = 1 with complete covariates).",
    "E-ROLE-124": "The site column is also the outcome, the treatment or a covariate.",
    # --- methods and their parameters
    "E-METHOD-001": "No method has this id.",
    "E-METHOD-002": "The method has no parameter of this name.",
    "E-METHOD-003": "The method does not estimate the estimand asked for.",
    "E-METHOD-004": "alpha is not between 0 and 1.",
    "E-METHOD-005": "A parameter value the method does not accept (wrong type, out of range, or not one of its "
                    "choices).",
    "E-METHOD-006": "Parameter values that are each valid do not go together (with each other or the estimand).",
    # --- estimation: shared
    "E-EST-001": "A method failed on this data with a numerical error (reported, never replaced by another number).",
    "E-EST-002": "Too few rows for the number of regression terms.",
    "E-EST-003": "After trimming extreme propensity scores too few treated or untreated units remain.",
    "E-EST-004": "Cross-fitting folds leave too few clusters or training rows to fit the nuisance models.",
    "E-EST-005": "Regression terms are exact combinations of each other, so their coefficients are not identified.",
    "E-EST-006": "Some estimated propensity scores are exactly 0 or 1: those units have no comparable counterpart.",
    "E-EST-010": "No unit has a match within the caliper.",
    "E-EST-011": "No propensity stratum holds both treated and untreated units.",
    "E-EST-020": "The bootstrap stopped: the wrapped method failed on more than 10% of the resamples.",
    "E-EST-028": "The weight column has negative, non-finite or non-numeric values, or no positive one.",
    "E-EST-048": "The cluster column has a single value, so cluster-robust errors are not defined.",
    # --- estimation: panels (did, event_study, staggered_did)
    "E-EST-021": "No unit is ever treated: there is no effect to estimate.",
    "E-EST-022": "Every treated unit is treated from its first observed period: there is no before to compare with.",
    "E-EST-023": "All treated units start in the same period and no unit is untreated: there is no comparison.",
    "E-EST-024": "No unit is never treated, and the comparison chosen needs never-treated units.",
    "E-EST-025": "The treatment turns off again for some units, and the method needs it to stay on.",
    "E-EST-026": "After removing unit and period effects the treatment terms have no variation of their own left.",
    "E-EST-032": "No unit is observed in every period.",
    "E-EST-033": "No cohort has comparison units after it starts treatment.",
    "E-EST-035": "The cohort column holds numbers but the time column holds dates.",
    # --- estimation: instrumental variables
    "E-EST-041": "An instrument takes a single value in the rows used.",
    "E-EST-042": "An instrument is the treatment itself (the same column, or identical values).",
    "E-EST-043": "A column is listed both as an instrument and as a covariate.",
    "E-EST-044": "The instruments are exact combinations of the covariates or of each other.",
    "E-EST-045": "An instrument is not numeric.",
    "E-EST-046": "An instrument is the outcome column.",
    "E-EST-047": "The instruments do not move the treatment at all once the covariates are accounted for.",
    # --- estimation: regression discontinuity
    "E-EST-050": "The cutoff lies outside the range of the running variable.",
    "E-EST-051": "Too few observations on one side of the cutoff, overall or within the bandwidth, for the local "
                 "fit.",
    "E-EST-052": "The running variable takes a single value, or fewer than 3 distinct values on one side of the "
                 "cutoff.",
    "E-EST-053": "Treatment take-up does not jump at the cutoff, so the fuzzy ratio is not identified.",
    "E-EST-054": "The data-driven bandwidth could not be computed.",
    "E-EST-055": "Too few values of the running variable near the cutoff for the density (sorting) test.",
    # --- estimation: one treated unit or one series (synthetic_control, its, panel_matching)
    "E-EST-060": "Fewer than 2 untreated units with complete outcomes are left as donors.",
    "E-EST-061": "Fewer than 2 periods before the treatment starts to fit the synthetic control on.",
    "E-EST-062": "Pre-treatment values the synthetic control is fitted on are missing (outcome or covariate).",
    "E-EST-063": "Several units are treated, and synthetic control builds a comparison for one.",
    "E-EST-064": "The treated unit has no outcome after the treatment starts.",
    "E-EST-065": "The data hold several series (or several rows per time), and the method needs one series.",
    "E-EST-066": "Too few observations before or from the intervention to fit a line on each side.",
    "E-EST-067": "The treatment switches back to 0 after the intervention started.",
    "E-EST-068": "No treated unit has a matched set of controls with the same treatment history.",
    "E-EST-069": "The panel has fewer periods than the treatment history (lag) needs.",
    "E-EST-070": "Averaged over units, some periods are treated for some units and not others: no single start.",
    "E-EST-071": "More levels of fixed effects to absorb than CQOx absorbs exactly.",
    "E-EST-081": "The partially linear model's treatment has no variation left after the covariates.",
    "E-EST-090": "A cross-fitting fold of the dose-response leaves too few training rows.",
    "E-EST-091": "The covariates predict the dose exactly: no dose variation is left to learn the curve from.",
    "E-EST-092": "The dose-response kernel regression has no data near some requested doses.",
    "E-EST-093": "No bandwidth gave a usable leave-one-out fit of the dose-response kernel regression.",
    "E-EST-100": "The logging propensity column holds values outside (0, 1).",
    "E-EST-101": "Some logged actions have a logging propensity of exactly 0.",
    "E-EST-102": "Some logged actions have a logging propensity of exactly 1.",
    "E-EST-103": "An action has too few logged rows to fit its reward model.",
    "E-EST-104": "The estimated logging probability of some logged actions is below 1e-6.",
    "E-EST-105": "The target policy never agrees with a logged action.",
    "E-EST-110": "Policy learning found no usable covariates to target on.",
    # --- estimation: mediation, proximal inference, transportability
    "E-EST-111": "outcome_model=probit with an outcome that is not coded 0/1.",
    "E-EST-112": "The probit outcome model does not converge: the regressors (almost) separate the outcome's values.",
    "E-EST-114": "The mediator is constant, or an exact combination of the covariates, in the rows used.",
    "E-EST-120": "Fewer negative-control exposures than negative-control outcomes: the outcome bridge is not identified.",
    "E-EST-121": "The negative-control exposures do not predict a negative-control outcome at all (given treatment and "
                 "covariates).",
    "E-EST-122": "A negative control is constant, or an exact combination of the covariates and the other proxies.",
    "E-EST-130": "The target population does not overlap the study sample: the covariates separate them.",
    "E-EST-131": "transport was given a weight role, which it does not take.",
    # --- saved analyses and users
    "E-STORE-001": "No saved analysis has this id.",
    "E-STORE-002": "The saved analysis has not been shared with you.",
    "E-STORE-003": "The store's database cannot be reached right now.",
    "E-STORE-004": "The server ran out of disk space while writing to the store.",
    "E-STORE-005": "A saved analysis is damaged and cannot be opened.",
    "E-STORE-006": "The audit log is append-only: its entries cannot be changed or deleted.",
    "E-STORE-007": "The database refused a store operation for another reason.",
    "E-STORE-008": "The database URL names a backend CQOx cannot use.",
    "E-STORE-009": "The store's schema version is newer than this CQOx understands.",
    "E-USER-001": "The user name has characters other than letters, digits, '.', '-' and '_'.",
    "E-USER-002": "The password is shorter than 8 characters.",
    "E-USER-003": "A user of this name already exists.",
    "E-USER-004": "An unknown user role (roles are admin, analyst and viewer).",
    "E-USER-005": "The last admin cannot be removed or demoted.",
    "E-USER-006": "No user has this name.",
    "E-USER-007": "The password uses only one kind of character.",
    "E-USER-008": "The password is too easy to guess.",
    # --- the command line
    "E-CLI-001": "The command line is not valid (unknown option, missing command, --param not KEY=VALUE).",
    # decision settings
    "E-DECISION-001": "Which direction of the outcome is good is neither 'higher' nor 'lower'.",
    "E-DECISION-002": "The minimum effect of interest is not a number of zero or more.",
    "E-INTERNAL-001": "An unexpected failure inside CQOx: a bug to report (rerun with CQOX_DEBUG=1).",
}

#: Families in the order docs/ERRORS.md shows them, with a heading each.
FAMILIES = {"DATA": "Reading the file", "ROLE": "Roles (which column plays which part)",
            "METHOD": "Methods and parameters", "EST": "Estimation on this data",
            "DECISION": "Decision settings (direction, minimum effect)", "STORE": "Saved analyses",
            "USER": "User accounts", "CLI": "The command line", "INTERNAL": "Unexpected failures",
            "CQOX": "Base classes"}


def family(code: str) -> str:
    return code.split("-")[1]


def catalogue_markdown() -> str:
    """docs/ERRORS.md: every code and its meaning, by family (generated; a test keeps it in step)."""
    lines = ["# Error codes", "",
             "Every failure CQOx reports on purpose carries a stable code, a plain-language message and a",
             "hint. The CLI prints them as `{\"error\": {\"code\": ..., \"message\": ..., \"hint\": ...}}`",
             "with `--json` and exits with status 2. One code means one failure, whichever method raises it.", "",
             "Generated from `cqox_core/errors.py` (`CATALOGUE`) by `python scripts/make_error_docs.py`; do not",
             "edit by hand.", ""]
    for fam, title in FAMILIES.items():
        codes = sorted(c for c in CATALOGUE if family(c) == fam)
        lines += [f"## {title}", "", "| Code | Meaning |", "|---|---|"]
        lines += [f"| `{c}` | {CATALOGUE[c].replace('|', chr(92) + '|')} |" for c in codes]
        lines.append("")
    return "\n".join(lines)


class CQOxError(Exception):
    """Base class for every error CQOx raises on purpose."""

    code: str = "E-CQOX-000"

    def __init__(self, message: str, hint: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message, "hint": self.hint}}

    def __str__(self) -> str:  # shown by the CLI and the app
        return f"[{self.code}] {self.message}" + (f" Hint: {self.hint}" if self.hint else "")


class DataError(CQOxError):
    """The file or frame cannot be read or is unusable (E-DATA-xxx)."""

    code = "E-DATA-000"


class RoleError(CQOxError):
    """Roles are missing, point at absent columns or at unusable values (E-ROLE-xxx)."""

    code = "E-ROLE-000"


class EstimationError(CQOxError):
    """The method cannot produce an honest number on this data (E-EST-xxx)."""

    code = "E-EST-000"


class MethodError(CQOxError):
    """Unknown method or bad parameter (E-METHOD-xxx)."""

    code = "E-METHOD-000"
