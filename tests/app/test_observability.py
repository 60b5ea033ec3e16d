"""Structured logs and Prometheus metrics (cqox_core/observability.py) from the app's own page runs.

The scrape test starts the metrics endpoint the way the app does (CQOX_METRICS_PORT, first page run),
runs estimators through the real pages (AppTest), and reads http://127.0.0.1:PORT/ like Prometheus would.
"""
from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from cqox_core import observability

from .conftest import PASSWORD, go, new_app, texts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        body = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def log_lines(monkeypatch):
    """The cqox logger's JSON lines, captured."""
    stream = io.StringIO()
    monkeypatch.setenv("CQOX_LOG_LEVEL", "INFO")
    observability.configure_logging(stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    observability.configure_logging(__import__("sys").stderr)


def test_an_event_is_one_json_line_with_the_common_keys_and_no_secrets(log_lines):
    observability.event("upload", user="ana", session="s1", sha256="ab" * 32, duration=0.25, size=1234,
                        password="hunter2-secret", payload={"x": [1, 2]}, values=[1.0, 2.0], name="file.csv")
    (line,) = log_lines()
    assert {k: line[k] for k in ("event", "level", "user", "session", "sha256", "duration_s", "size", "name")} == {
        "event": "upload", "level": "info", "user": "ana", "session": "s1", "sha256": "ab" * 32, "duration_s": 0.25,
        "size": 1234, "name": "file.csv"}
    assert "password" not in line and "payload" not in line and "values" not in line
    assert "hunter2" not in json.dumps(line)


def test_the_level_comes_from_cqox_log_level(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setenv("CQOX_LOG_LEVEL", "WARNING")
    observability.configure_logging(stream)
    try:
        observability.event("login", user="ana")
        observability.event("failed_login", level=logging.WARNING, user="ana")
        assert [json.loads(x)["event"] for x in stream.getvalue().splitlines()] == ["failed_login"]
    finally:
        monkeypatch.setenv("CQOX_LOG_LEVEL", "INFO")
        observability.configure_logging(__import__("sys").stderr)


def test_record_run_counts_outcomes_durations_and_error_codes():
    keys = [("cqox_runs_total", {"method": "unit_test_method", "outcome": "ok"}),
            ("cqox_runs_total", {"method": "unit_test_method", "outcome": "error"}),
            ("cqox_errors_total", {"code": "E-TEST-001"}),
            ("cqox_run_duration_seconds_count", {"method": "unit_test_method"})]
    before = [observability.REGISTRY.get_sample_value(*k) or 0.0 for k in keys]
    observability.record_run("unit_test_method", "ok", 0.2)
    observability.record_run("unit_test_method", "error", 0.1, code="E-TEST-001")
    after = [observability.REGISTRY.get_sample_value(*k) for k in keys]
    assert [a - b for a, b in zip(after, before)] == [1.0, 1.0, 1.0, 2.0]


def test_the_app_serves_metrics_and_the_counters_move_after_a_run(data_dir, monkeypatch, campaign, log_lines):
    port = free_port()
    monkeypatch.setenv("CQOX_METRICS_PORT", str(port))
    monkeypatch.setitem(observability._state, "metrics_port", None)  # this process has not served metrics yet
    at = new_app().run()  # the first page run starts the endpoint (app_lib.auth.store)
    base = scrape(port)

    # a failed login, then a real login through the form
    for password in ("wrong-password-1", PASSWORD):
        by_label = {t.label: t for t in at.text_input}
        by_label["Username"].input("ana")
        by_label["Password"].input(password)
        next(b for b in at.button if b.label == "Login").click().run()
    assert at.session_state["authentication_status"] is True
    at.session_state["dataset"] = campaign
    at.session_state["dataset_sha"] = campaign.sha256
    at.session_state["roles"] = {"outcome": "spend_after_90d", "treatment": "got_voucher", "treated_value": "yes",
                                 "covariates": ["age_years", "prior_orders", "region"]}
    go(at, "estimators")
    for box in at.checkbox:
        if box.key and box.key.startswith("use-") and box.key not in ("use-ipw", "use-psm"):
            box.uncheck()
    at.checkbox(key="param-psm-replace").uncheck()  # psm then refuses (E-METHOD-006): one run errs
    at.run()
    next(b for b in at.button if b.label.startswith("Run ")).click().run()
    assert not at.exception, texts(at.exception)
    now = scrape(port)

    def moved(name: str, **labels: str) -> float:
        return value(now, name, **labels) - value(base, name, **labels)

    assert moved("cqox_runs_total", method="ipw", outcome="ok") == 1
    assert moved("cqox_runs_total", method="psm", outcome="error") == 1
    assert moved("cqox_errors_total", code="E-METHOD-006") == 1
    assert moved("cqox_run_duration_seconds_count", method="ipw") == 1
    assert moved("cqox_run_duration_seconds_sum", method="ipw") > 0
    assert moved("cqox_logins_total") == 1 and moved("cqox_failed_logins_total") == 1
    assert all(name.startswith("cqox_") for name, _ in now)

    lines = log_lines()
    runs = [x for x in lines if x["event"] == "run"]
    assert {(x["method"], x["outcome"], x["code"]) for x in runs} == {("ipw", "ok", None),
                                                                      ("psm", "error", "E-METHOD-006")}
    assert all(x["user"] == "ana" and x["session"] and x["sha256"] == campaign.sha256 and x["duration_s"] > 0
               for x in runs)
    assert [x["user"] for x in lines if x["event"] == "failed_login"] == ["ana"]
    assert [x["event"] for x in lines if x["event"] in ("login", "failed_login")] == ["failed_login", "login"]
    assert "wrong-password-1" not in json.dumps(lines) and PASSWORD not in json.dumps(lines)


def test_an_admin_action_is_an_event_with_user_and_session_and_a_metric(app_as, log_lines):
    key = ("cqox_admin_actions_total", {"action": "user_add"})
    before = observability.REGISTRY.get_sample_value(*key) or 0.0
    at = app_as("admin", "admin")
    at.text_input[0].input("newbie")
    at.text_input[1].input("long-enough-pw")
    at.button[0].click().run()
    assert not at.exception
    lines = log_lines()
    admin = [x for x in lines if x["event"] == "admin_action"]
    assert admin and admin[-1]["action"] == "user_add" and admin[-1]["username"] == "newbie"
    assert admin[-1]["user"] == "admin" and admin[-1]["session"]
    assert observability.REGISTRY.get_sample_value(*key) == before + 1
