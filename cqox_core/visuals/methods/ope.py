"""Figure of ope: the four estimates of the target policy's value with their intervals, beside the
logging policy's value (the average logged reward)."""
from __future__ import annotations

import math
from typing import Any, Mapping

from ..specs import VisualSpec

NAMES = {"ips": "IPS (reweighting)", "snips": "self-normalised IPS", "dm": "direct method (reward model)",
         "dr": "doubly robust"}


def policy_value_figure(result: Mapping[str, Any]) -> VisualSpec | None:
    by = [b for b in result.get("by", []) if isinstance(b.get("estimate"), (int, float))
          and math.isfinite(b["estimate"])]
    if not by:
        return None
    diag = result.get("diagnostics", {})
    rows = [(NAMES.get(b["label"], b["label"]), b["estimate"], b.get("ci_lower"), b.get("ci_upper")) for b in by]
    logging = diag.get("logging_policy_value")
    if isinstance(logging, (int, float)):
        rows.append(("logging policy (average logged reward)", logging, logging, logging))
    data = {"method": [r[0] for r in rows], "estimate": [r[1] for r in rows], "ci_lower": [r[2] for r in rows],
            "ci_upper": [r[3] for r in rows]}
    return VisualSpec("forest", "policy_value_ope", "Value of the target policy", data,
                      {"x": "average reward per round", "y": ""},
                      "Each row estimates the average reward had the target policy chosen the actions; the last row "
                      "is what the logged policy earned. Doubly robust is the headline: it stays right if either "
                      "the logging probabilities or the reward model are right.")


def figures(result: Mapping[str, Any]) -> list[VisualSpec | None]:
    return [policy_value_figure(result)]
