"""The `cqox` command (CLI_CONTRACT.md): methods, map, estimate, analyze.

Bad input never prints a traceback: typed errors exit with status 2 (and a JSON
error object on stdout with --json); an unexpected failure exits 1 with a
one-line message (set CQOX_DEBUG=1 to see the traceback).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any, Sequence

from .errors import CQOxError

ROLE_FLAGS = ("outcome", "treatment", "covariates", "instrument", "running", "cutoff", "unit", "time",
              "cohort", "mediator", "cluster", "weight", "site", "lat", "lon", "exposure", "treated_value")


class UsageError(CQOxError):
    code = "E-CLI-001"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit 2 itself
        raise UsageError(f"Invalid command line: {message}.", f"Run `{self.prog} --help` for the usage.")


def _add_role_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("roles (column names; left out = auto mapping)")
    for name in ROLE_FLAGS:
        g.add_argument("--" + name.replace("_", "-"), dest=name, default=None, metavar="COL"
                       if name not in ("cutoff", "treated_value") else "VALUE")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cqox", description="CQOx causal-inference engine.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    p = sub.add_parser("methods", help="list the estimator registry")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("map", help="auto mapping of columns to roles, and domain detection")
    p.add_argument("data")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("estimate", help="run one method")
    p.add_argument("method")
    p.add_argument("data")
    _add_role_flags(p)
    p.add_argument("--estimand", choices=("ate", "att", "atc", "late"), default=None)
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--effects-out", default=None, metavar="PATH")
    p.add_argument("--refute", action="store_true",
                   help="also run the refuters (placebo treatment, random common cause, data subsets, dummy outcome)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("analyze", help="the whole battery: map, detect, select, estimate, gates, CAS")
    p.add_argument("data")
    _add_role_flags(p)
    p.add_argument("--estimand", choices=("ate", "att"), default="ate")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--better", choices=("higher", "lower"), default=None,
                   help="which direction of the outcome is good (default: read from the outcome's name and "
                        "the domain, and reported with its reason)")
    p.add_argument("--min-effect", type=float, default=None, metavar="X",
                   help="smallest improvement that matters, in outcome units; a clear effect below it is CANARY")
    p.add_argument("--value-per-unit", type=float, default=None,
                   help="value of one unit of improvement of the outcome (money view)")
    p.add_argument("--cost-per-treated", type=float, default=0.0)
    p.add_argument("--refute", action="store_true", help="also run the refuters on every estimate")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("users", help="manage app users: add, remove, list, set-role, unlock")
    usub = p.add_subparsers(dest="users_command", parser_class=_Parser)
    q = usub.add_parser("add")
    q.add_argument("username")
    q.add_argument("--role", default="analyst", choices=("admin", "analyst", "viewer"))
    q.add_argument("--name", default=None)
    q.add_argument("--password-stdin", action="store_true",
                   help="read the password from standard input instead of prompting")
    usub.add_parser("init", help="create the first admin if there are no users (prints its password once)")
    q = usub.add_parser("remove")
    q.add_argument("username")
    q = usub.add_parser("list")
    q.add_argument("--json", action="store_true")
    q = usub.add_parser("unlock", help="clear a login lock (too many failed logins)")
    q.add_argument("username", help="the user name, or with --client the client address")
    q.add_argument("--client", action="store_true", help="unlock a client address instead of a user name")
    q = usub.add_parser("set-role")
    q.add_argument("username")
    q.add_argument("role", choices=("admin", "analyst", "viewer"))
    return parser


def cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from .users import UserStore

    users = UserStore()
    action = args.users_command
    if action is None:
        raise UsageError("Say what to do with users.", "cqox users add|remove|list|set-role")
    if action == "init":
        generated = users.ensure_admin()
        if generated:
            name = os.environ.get("CQOX_ADMIN_USER", "admin")
            print(f"CQOx first start: created admin '{name}' with password: {generated}\n"
                  f"(stored as a bcrypt hash in the {users.location}; this is the only time it is shown)")
            users.store.audit("cli", "user_add", username=name, role="admin")
        return 0
    if action == "list":
        rows = users.list()
        print(json.dumps(rows) if args.json else "\n".join(f"{r['username']:20s} {r['role']}" for r in rows))
        return 0
    if action == "add":
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
        users.add(args.username, password, role=args.role, name=args.name)
        users.store.audit("cli", "user_add", username=args.username, role=args.role)
    elif action == "remove":
        users.remove(args.username)
        users.store.audit("cli", "user_remove", username=args.username)
    elif action == "unlock":
        from .security import throttle_keys

        scope = f"client:{args.username}" if args.client else throttle_keys(args.username, None)[0]
        if not users.store.clear_throttle(scope):
            print(f"unlock: {scope} was not locked")
            return 0
        users.store.audit("cli", "user_unlock", scope=scope)
    elif action == "set-role":
        users.set_role(args.username, args.role)
        users.store.audit("cli", "user_set_role", username=args.username, role=args.role)
    print(f"{action}: {args.username} done")
    return 0


def parse_value(text: str) -> Any:
    """--param values: JSON literals (1, 0.2, true, null, [..]) or plain strings."""
    try:
        return json.loads(text)
    except ValueError:
        lowered = text.lower()
        if lowered in ("none", "true", "false"):
            return {"none": None, "true": True, "false": False}[lowered]
        return text


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {item!r} is not KEY=VALUE.", "Write e.g. --param k=2 --param caliper=0.1.",
                             code="E-CLI-001")
        params[key.strip()] = parse_value(value)
    return params


def role_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in ROLE_FLAGS if getattr(args, name, None) is not None}


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return "n/a" if not math.isfinite(x) else f"{x:.4g}"
    return str(x)


def cmd_methods(args: argparse.Namespace) -> int:
    from .registry import methods

    specs = methods()
    if args.json:
        print(json.dumps([s.to_dict() for s in specs]))
        return 0
    for s in specs:
        print(f"{s.id:24s} {s.family:26s} {','.join(s.estimands):12s} needs {', '.join(s.requires.roles)}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    from .data import load
    from .domain import detect_domain
    from .mapping import infer_roles

    dataset = load(args.data)
    mapping = infer_roles(dataset)
    out = mapping.to_dict()
    out["domain"] = detect_domain(dataset, mapping.roles).to_dict()
    if args.json:
        print(json.dumps(out, allow_nan=False))
        return 0
    print(f"{dataset.source}: {dataset.n_rows} rows x {dataset.n_cols} columns")
    for role, col in out["roles"].items():
        if col not in (None, []):
            conf = out["confidence"].get(role)
            print(f"  {role:12s} {_fmt(col):30s} {'' if conf is None else f'{conf:.2f}'}  "
                  f"{out['reasons'].get(role, '')}")
    for col, why in out["excluded"].items():
        print(f"  excluded     {col:30s} {why}")
    d = out["domain"]
    print(f"domain: {d['name']} ({d['confidence']:.2f}) - {'; '.join(d['evidence'])}")
    return 0


def cmd_estimate(args: argparse.Namespace) -> int:
    from .api import estimate
    from .data import load
    from .export import to_safe_csv

    dataset = load(args.data)
    result = estimate(args.method, dataset, estimand=args.estimand, alpha=args.alpha, seed=args.seed,
                      **role_kwargs(args), **parse_params(args.param))
    if args.refute:
        from .refuters import attach_refutations

        result = attach_refutations(result, dataset)
    if args.effects_out:
        # CATE methods: one row per input row, in input order (effect, and its interval where the method
        # has one); other methods: the tidy table of the estimate and its sub-estimates
        rows = result.row_effects
        to_safe_csv(rows if rows is not None else result.tidy(), args.effects_out)
    if args.json:
        print(json.dumps(result.to_dict(), allow_nan=False))
        return 0
    print(result.summary())
    print(f"  standard error: {result.se_method}")
    for g in result.gates:
        print(f"  [{g.status.upper():4s}] {g.name}: {g.message}")
    sens = result.sensitivity or {}
    if "e_value" in sens:
        print(f"  E-value {_fmt(sens.get('e_value'))} (CI bound {_fmt(sens.get('e_value_ci'))})")
    if "robustness_value" in sens:
        print(f"  robustness value {_fmt(sens.get('robustness_value'))} "
              f"(at alpha: {_fmt(sens.get('robustness_value_alpha'))})")
    if sens.get("sensitivity_text"):
        print(f"  sensitivity: {sens['sensitivity_text']}")
    for r in (result.diagnostics.get("refutation") or {}).get("refuters", []):
        print(f"  refuter [{r['status'].upper()}] {r['text']}")
    for w in result.warnings:
        print(f"  note: {w}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .data import load

    dataset = load(args.data)
    report = analyze(dataset, estimand=args.estimand, alpha=args.alpha, seed=args.seed,
                     value_per_unit=args.value_per_unit, cost_per_treated=args.cost_per_treated,
                     better=args.better, min_effect=args.min_effect, refute=args.refute, **role_kwargs(args))
    if args.json:
        print(json.dumps(report.to_dict(), allow_nan=False))
        return 0
    print(f"{report.source}: {report.n_rows} rows; domain {report.domain['name']}")
    print(f"roles: outcome={report.roles.outcome} treatment={report.roles.treatment} "
          f"covariates={','.join(report.roles.covariates)}")
    for method, res in report.results.items():
        print(f"  {res.summary()}  CAS {report.cas[method].overall:.1f}")
    for method, err in report.errors.items():
        print(f"  {method}: could not run [{err['code']}] {err['message']}")
    if report.decision:
        print(f"decision ({report.headline}): {report.decision.label} {', '.join(report.decision.reason_codes)}")
        print(f"  {report.decision.explanation}")
        if report.decision.direction:
            d = report.decision.direction
            print(f"  direction: {d.better} is better ({d.source}): {d.reason}")
    return 0


COMMANDS = {"methods": cmd_methods, "map": cmd_map, "estimate": cmd_estimate, "analyze": cmd_analyze,
            "users": cmd_users}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    want_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            build_parser().print_help()
            return 2
        return COMMANDS[args.command](args)
    except CQOxError as exc:
        _report(exc.to_dict(), str(exc), want_json)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract forbids tracebacks
        if os.environ.get("CQOX_DEBUG"):
            raise
        err = {"error": {"code": "E-INTERNAL-001", "message": f"Unexpected failure: {type(exc).__name__}: {exc}",
                         "hint": "This is a bug in CQOx; rerun with CQOX_DEBUG=1 and report the traceback."}}
        _report(err, err["error"]["message"], want_json)
        return 1


def _report(payload: dict, text: str, want_json: bool) -> None:
    if want_json:
        print(json.dumps(payload))
    else:
        print(f"error: {text}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
