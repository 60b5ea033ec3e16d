"""Structured logs and Prometheus metrics: what operators search and scrape.

Logs: one JSON object per line on stderr (logger ``cqox``), level from
``CQOX_LOG_LEVEL`` (default INFO in the app, WARNING headless, so the CLI and
the Python API stay quiet on stderr unless asked). Every event has the same keys — ``ts``,
``level``, ``event``, ``user``, ``session``, ``sha256``, ``duration_s`` — plus
its own fields. Data values, passwords, hashes, tokens and payloads are never
logged: fields are metadata (names, sizes, counts, codes), and keys that could
carry secrets or data are dropped (``_FORBIDDEN``).

Metrics (prometheus_client), served on ``CQOX_METRICS_PORT`` when it is set, on
``CQOX_METRICS_ADDRESS`` (default 127.0.0.1; 0.0.0.0 in a cluster), by the app's
own process from its first page run on:

    cqox_runs_total{method,outcome}            estimator runs, outcome ok | error
    cqox_run_duration_seconds{method}          histogram of run wall time
    cqox_errors_total{code}                    typed errors (CQOxError codes)
    cqox_uploads_total, cqox_upload_bytes_total
    cqox_active_sessions                       browser sessions connected to this process
    cqox_logins_total, cqox_failed_logins_total, cqox_login_locks_total
    cqox_exports_total{kind}, cqox_saves_total{shared}, cqox_admin_actions_total{action}

The core never imports Streamlit: the app registers a context provider (who and
which session is running now) and the active-session counter with ``setup``.
Any run loop calls ``record_run(method, status, seconds, code=None)``.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
from typing import Any, Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server

LOGGER = logging.getLogger("cqox")
#: one registry for CQOx's own metrics (names prefixed cqox_), so a scrape shows nothing else
REGISTRY = CollectorRegistry(auto_describe=True)

RUNS = Counter("cqox_runs_total", "Estimator runs by method and outcome (ok or error).", ["method", "outcome"],
               registry=REGISTRY)
RUN_SECONDS = Histogram("cqox_run_duration_seconds", "Wall time of one estimator run.", ["method"],
                        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300), registry=REGISTRY)
ERRORS = Counter("cqox_errors_total", "Typed errors by code.", ["code"], registry=REGISTRY)
UPLOADS = Counter("cqox_uploads_total", "Files uploaded and read.", registry=REGISTRY)
UPLOAD_BYTES = Counter("cqox_upload_bytes_total", "Bytes of the files uploaded.", registry=REGISTRY)
LOGINS = Counter("cqox_logins_total", "Successful logins.", registry=REGISTRY)
FAILED_LOGINS = Counter("cqox_failed_logins_total", "Failed logins (wrong name or password, or locked).",
                        registry=REGISTRY)
LOCKS = Counter("cqox_login_locks_total", "Login locks started by repeated failures.", registry=REGISTRY)
EXPORTS = Counter("cqox_exports_total", "Downloads of reports, results and scripts.", ["kind"], registry=REGISTRY)
SAVES = Counter("cqox_saves_total", "Saved analyses, by whether they were shared.", ["shared"], registry=REGISTRY)
ADMIN_ACTIONS = Counter("cqox_admin_actions_total", "User administration actions.", ["action"], registry=REGISTRY)
ACTIVE_SESSIONS = Gauge("cqox_active_sessions", "Browser sessions connected to this app process.",
                        registry=REGISTRY)

#: keys never logged: secrets, and anything that could carry the data itself
_FORBIDDEN = frozenset({"password", "password_hash", "hash", "token", "cookie", "secret", "key", "payload",
                        "frame", "data", "values", "rows_data", "raw", "content"})
_lock = threading.Lock()
_state: dict[str, Any] = {"logging": False, "metrics_port": None, "context": None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = getattr(record, "cqox", None) or {"event": "log", "message": record.getMessage()}
        line = {"ts": round(record.created, 3), "level": record.levelname.lower(), **body}
        if record.exc_info and record.levelno >= logging.ERROR:
            line["exception"] = self.formatException(record.exc_info).splitlines()[-1][:300]
        return json.dumps(line, default=str, allow_nan=False)


def configure_logging(stream: Any = None, default: str = "WARNING") -> None:
    """JSON lines on stderr (or ``stream``), level CQOX_LOG_LEVEL (else ``default``); idempotent."""
    with _lock:
        level_name = os.environ.get("CQOX_LOG_LEVEL", default).upper()
        level = logging.getLevelName(level_name)
        LOGGER.setLevel(level if isinstance(level, int) else logging.INFO)
        if _state["logging"] and stream is None:
            return
        for handler in list(LOGGER.handlers):
            LOGGER.removeHandler(handler)
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        LOGGER.addHandler(handler)
        LOGGER.propagate = False  # one line per event, not a second copy through the root logger
        _state["logging"] = True


def _clean(value: Any) -> Any:
    """Metadata only: scalars (strings cut to 200 characters) and short lists of them."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_clean(v) for v in list(value)[:50] if not isinstance(v, (dict, list, tuple))]
    return str(value)[:200]


def _context() -> dict[str, Any]:
    provider: Callable[[], Mapping[str, Any]] | None = _state["context"]
    if provider is None:
        return {}
    try:
        return dict(provider())
    except Exception:  # noqa: BLE001 - a log line must never break the page that writes it
        return {}


def event(name: str, /, *, level: int = logging.INFO, user: str | None = None, session: str | None = None,
          sha256: str | None = None, duration: float | None = None, **fields: Any) -> dict[str, Any]:
    """Log one structured event; returns the line's fields (tests read them)."""
    if not _state["logging"]:
        configure_logging()
    ctx = _context()
    body: dict[str, Any] = {"event": name, "user": user or ctx.get("user"), "session": session or ctx.get("session"),
                            "sha256": sha256 or ctx.get("sha256"),
                            "duration_s": None if duration is None else round(float(duration), 6)}
    for key, value in fields.items():
        if key.lower() not in _FORBIDDEN and key not in body:
            body[key] = _clean(value)
    LOGGER.log(level, name, extra={"cqox": body})
    return body


# -- what the app and any run loop call --------------------------------------------------------------------

def record_run(method: str, status: str, seconds: float, code: str | None = None, **fields: Any) -> None:
    """One estimator run: ``status`` "ok" or "error" (with the error's ``code``)."""
    outcome = "ok" if status == "ok" else "error"
    RUNS.labels(method=method, outcome=outcome).inc()
    RUN_SECONDS.labels(method=method).observe(max(float(seconds), 0.0))
    if outcome == "error":
        ERRORS.labels(code=code or "unknown").inc()
    event("run", level=logging.INFO if outcome == "ok" else logging.WARNING, duration=seconds, method=method,
          outcome=outcome, code=code, **fields)


def record_error(code: str | None, where: str = "", **fields: Any) -> None:
    """A typed error outside a run (a file that cannot be read, the store unreachable, ...)."""
    ERRORS.labels(code=code or "unknown").inc()
    event("error", level=logging.WARNING, code=code, where=where, **fields)


def audit_event(user: str | None, action: str, **detail: Any) -> None:
    """The metric and log line of one audit-log entry (the app writes both at once)."""
    if action == "upload":
        UPLOADS.inc()
        UPLOAD_BYTES.inc(max(int(detail.get("size") or 0), 0))
    elif action == "login":
        LOGINS.inc()
    elif action == "failed_login":
        FAILED_LOGINS.inc()
    elif action == "login_locked":
        LOCKS.inc()
    elif action == "export":
        EXPORTS.labels(kind=str(detail.get("kind", "other"))).inc()
    elif action in ("save", "share"):
        SAVES.labels(shared=str(action == "share").lower()).inc()
    elif action.startswith(("user_", "admin_")):
        ADMIN_ACTIONS.labels(action=action).inc()
    # per-method runs are "run" events (record_run); the audit entry of one click of Run is the batch
    name = "admin_action" if action.startswith(("user_", "admin_")) else "run_batch" if action == "run" else action
    level = logging.WARNING if action in ("failed_login", "login_locked", "session_refused") else logging.INFO
    event(name, level=level, user=user, sha256=detail.pop("sha256", None), duration=detail.pop("duration", None),
          action=action, **detail)


# -- setup --------------------------------------------------------------------------------------------------

def setup(context: Callable[[], Mapping[str, Any]] | None = None,
          active_sessions: Callable[[], float] | None = None) -> int | None:
    """Logging, the context provider, the session gauge and (when CQOX_METRICS_PORT is set) the metrics
    endpoint. Safe to call on every page run; returns the metrics port or None."""
    configure_logging(default="INFO")
    if context is not None:
        _state["context"] = context
    if active_sessions is not None:
        ACTIVE_SESSIONS.set_function(active_sessions)
    return start_metrics_server()


def start_metrics_server() -> int | None:
    """Serve /metrics once per process on CQOX_METRICS_PORT (unset: no endpoint)."""
    raw = os.environ.get("CQOX_METRICS_PORT", "").strip()
    if not raw:
        return None
    with _lock:
        if _state["metrics_port"] is not None:
            return _state["metrics_port"]
        address = os.environ.get("CQOX_METRICS_ADDRESS", "127.0.0.1")
        try:
            start_http_server(int(raw), addr=address, registry=REGISTRY)
        except (OSError, ValueError) as error:
            _state["metrics_port"] = -1  # tried once; say why instead of retrying on every page run
            event("metrics_unavailable", level=logging.ERROR, port=raw, address=address, reason=str(error))
            return None
        _state["metrics_port"] = int(raw)
    event("metrics_started", port=int(raw), address=address)
    return int(raw)


def metrics_text() -> str:
    """The current metrics in Prometheus' text format (what the endpoint serves)."""
    return generate_latest(REGISTRY).decode()
