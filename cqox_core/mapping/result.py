"""The public result of :func:`infer_roles`: :class:`Mapping`, and the order its roles are reported in."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..roles import Roles

ROLE_ORDER = ("outcome", "treatment", "treated_value", "covariates", "instrument", "running",
              "cutoff", "unit", "time", "cohort", "mediator", "cluster", "weight", "site", "lat",
              "lon", "exposure")


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
