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

Layout: ``infer`` (the entry point and the order of the guessers), ``cues``
(the vocabulary and thresholds), ``names`` (what a name says), ``profile``
(what the values look like), ``state`` (the working memory of one inference
and the choice among candidates), ``periods`` (when a column was measured),
one ``guess_<roles>`` module per group of roles, ``leakage`` (the guard) and
``result`` (:class:`Mapping`). Only the names below are public; names with a
leading underscore are shared between this package's modules only.
"""
from __future__ import annotations

from .infer import infer_roles
from .names import NameInfo, name_match, name_tokens, parse_name
from .profile import ColumnProfile
from .result import Mapping

__all__ = ["ColumnProfile", "Mapping", "NameInfo", "infer_roles", "name_match", "name_tokens", "parse_name"]
