"""What a domain changes: wording of the outcome, the money view's suggested
value per unit, and which estimators lead the list. Suggestions only: the user
sees and can change every one of them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DomainProfile:
    name: str
    outcome_label: str
    value_hint: str
    value_per_unit: float | None
    leading: tuple[str, ...]


PROFILES: dict[str, DomainProfile] = {p.name: p for p in (
    DomainProfile("healthcare", "health outcome", "Cost of one unit of the outcome (e.g. one readmission "
                  "avoided is worth its treatment cost); leave empty if the outcome is not in money.", None,
                  ("aipw", "ipw", "psm", "regression_adjustment")),
    DomainProfile("finance", "financial outcome", "Outcome already in currency: 1 per unit.", 1.0,
                  ("aipw", "regression_adjustment", "ipw", "iv")),
    DomainProfile("marketing", "revenue or conversion", "Spend/revenue outcomes are in currency (1 per unit); "
                  "for conversions, use the margin per conversion.", 1.0,
                  ("aipw", "ipw", "psm", "regression_adjustment")),
    DomainProfile("education", "learning outcome", "Value of one point of the outcome, if you have one.", None,
                  ("regression_adjustment", "iv", "rd", "aipw")),
    DomainProfile("policy", "policy outcome", "Value of one unit of the outcome to the programme budget.", None,
                  ("did", "staggered_did", "synthetic_control", "rd", "regression_adjustment", "psm")),
    DomainProfile("manufacturing", "process outcome", "Cost of one unit of the outcome (e.g. one defect).", None,
                  ("regression_adjustment", "its", "aipw", "ipw")),
    DomainProfile("other", "outcome", "Value of one unit of the outcome, if it has one.", None,
                  ("aipw", "regression_adjustment", "ipw", "psm")),
)}


def profile(name: str) -> DomainProfile:
    return PROFILES.get(name, PROFILES["other"])


def order_methods(methods: list[str], domain: str) -> list[str]:
    """The domain's leading methods first, the rest alphabetically."""
    lead = [m for m in profile(domain).leading if m in methods]
    return lead + sorted(m for m in methods if m not in lead)
