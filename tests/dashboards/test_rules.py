"""The Prometheus rules and configs checked by the real tools, and the dashboards' structure.

``promtool check rules`` / ``test rules`` / ``check config`` and ``amtool check-config`` /
``config routes test`` are Debian's prometheus and prometheus-alertmanager; each test skips with
the package to install when its tool is missing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboards.assets import (
    ALERTMANAGER,
    DASHBOARDS,
    GRAFANA,
    METRIC_NAME,
    PROMETHEUS,
    RECORDED_NAME,
    RULE_TESTS,
    RULES,
    alerts,
    binary,
    dashboards,
    expressions,
    panels,
    recorded_names,
    rules,
)

pytestmark = pytest.mark.backend_neutral

CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)


def test_promtool_check_rules_with_every_lint() -> None:
    promtool = binary("promtool", "prometheus")
    result = run(promtool, "check", "rules", "--lint=all", "--lint-fatal", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULES) == 3


def test_promtool_unit_tests_pass() -> None:
    promtool = binary("promtool", "prometheus")
    result = run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS) >= 3


def test_promtool_unit_tests_fail_when_a_threshold_changes(tmp_path: Path) -> None:
    """The unit tests are sharp: a 10-minute FAP channel threshold breaks their expectations."""
    promtool = binary("promtool", "prometheus")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    for path in RULES:
        text = path.read_text(encoding="utf-8")
        if path.name == "kontur-thresholds.yml":
            default = "- record: kontur:threshold:channel_down_seconds:default\n        expr: "
            text = text.replace(default + "vector(900)", default + "vector(600)")
            assert "vector(600)" in text
        (tmp_path / "rules" / path.name).write_text(text, encoding="utf-8")
    test_file = tmp_path / "tests" / "availability.yml"
    test_file.write_text(
        (PROMETHEUS / "tests" / "availability.yml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = run(promtool, "test", "rules", str(test_file))
    assert result.returncode != 0
    assert "KonturChannelDown" in result.stdout + result.stderr


def _alert_tests() -> dict[str, tuple[bool, bool]]:
    """alertname → (a test expects it firing, a test expects it silent)."""
    seen: dict[str, tuple[bool, bool]] = {}
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for check in case.get("alert_rule_test", []):
                firing, silent = seen.get(check["alertname"], (False, False))
                if check.get("exp_alerts"):
                    firing = True
                else:
                    silent = True
                seen[check["alertname"]] = (firing, silent)
    return seen


def test_every_alert_has_unit_tests_firing_and_not_firing() -> None:
    names = {a["alert"] for a in alerts()}
    assert names == {
        "KonturChannelDown", "KonturSiteOnBackup", "KonturSiteDown", "KonturVipnetNodeOffline",
        "KonturCollectorDown", "KonturCollectorAbsent", "KonturCollectorStalled",
        "KonturAttestationExpiring", "KonturVipnetKeysetExpiring",
        "KonturVipnetCertificateExpiring",
    }  # fmt: skip
    tested = _alert_tests()
    for name in names:
        assert tested.get(name) == (True, True), (
            f"{name}: firing/not firing tests {tested.get(name)}"
        )
    # Each severity of a two-severity alert fires in some test.
    for path in RULE_TESTS:
        text = path.read_text(encoding="utf-8")
        for alert in alerts():
            if alert["alert"] in text:
                assert f"severity: {alert['labels']['severity']}" in text


def test_alerts_carry_severity_and_russian_and_english_summaries() -> None:
    for alert in alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning"}, name
        notes = alert["annotations"]
        assert CYRILLIC.search(notes["summary"]), name
        assert CYRILLIC.search(notes["description"]), name
        assert not CYRILLIC.search(notes["summary_en"].replace("АС-", "")), name


def test_availability_alerts_wait_for_thresholds_as_data_with_a_default_each() -> None:
    """The threshold convention: alerts compare with kontur:threshold:*:by_<key>, never `for:`;
    each threshold has a default (so a new site kind is covered) and is derived in the group of
    the alerts that use it (evaluated in order)."""
    recorded = recorded_names()
    for group in yaml.safe_load((RULES[0].parent / "kontur-alerts.yml").read_text())["groups"]:
        if group["name"] != "kontur-availability":
            continue
        own = {r["record"] for r in group["rules"] if "record" in r}
        for alert in (r for r in group["rules"] if "alert" in r):
            assert "for" not in alert, alert["alert"]
            (used,) = set(re.findall(r"kontur:threshold:\w+:by_\w+", alert["expr"]))
            assert used in own, used
            base = used.rsplit(":", 1)[0]
            assert f"{base}:default" in recorded, base


def test_recording_rules_use_only_defined_series_and_the_collector_job() -> None:
    recorded = recorded_names()
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    for rule in rules():
        for name in RECORDED_NAME.findall(rule["expr"]):
            assert name in recorded, f"{rule.get('record') or rule.get('alert')}: {name}"
        for job in re.findall(r'job="([^"]+)"', rule["expr"]):
            assert job in jobs, job


def test_scrape_config_passes_promtool(tmp_path: Path) -> None:
    """Checked for real (rule files loaded, the token file must exist): a copy whose token path
    points at a file of this test; the committed file also passes the syntax-only check."""
    promtool = binary("promtool", "prometheus")
    original = PROMETHEUS / "prometheus.yml"
    syntax = run(promtool, "check", "config", "--syntax-only", str(original))
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    config: dict[str, Any] = yaml.safe_load(original.read_text(encoding="utf-8"))
    token = tmp_path / "kontur-api.token"
    token.write_text("placeholder-for-the-check\n", encoding="utf-8")
    token.chmod(0o600)
    api = next(job for job in config["scrape_configs"] if job["job_name"] == "kontur-api")
    assert api["authorization"]["credentials_file"].startswith("/etc/prometheus/")
    assert [t for sc in api["static_configs"] for t in sc["targets"]] == ["127.0.0.1:8080"]
    api["authorization"]["credentials_file"] = str(token)
    config["rule_files"] = [str(PROMETHEUS / f) for f in config["rule_files"]]
    copy = tmp_path / "prometheus.yml"
    copy.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    result = run(promtool, "check", "config", "--lint=all", "--lint-fatal", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rule files found" in result.stdout
    assert {job["job_name"] for job in config["scrape_configs"]} >= {
        "kontur-collector", "kontur-api", "snmp"
    }  # fmt: skip


def test_alertmanager_config_and_routes() -> None:
    amtool = binary("amtool", "prometheus-alertmanager")
    result = run(amtool, "check-config", str(ALERTMANAGER))
    assert result.returncode == 0, result.stdout + result.stderr

    def route(*labels: str) -> str:
        found = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
        assert found.returncode == 0, found.stderr
        return found.stdout.strip()

    assert route("alertname=KonturSiteDown", "severity=critical") == "kontur-webhook-critical"
    assert route("alertname=KonturChannelDown", "severity=warning") == "kontur-webhook"
    # Expiries are grouped daily whatever their severity.
    assert route("alertname=KonturVipnetKeysetExpiring", "severity=critical") == "kontur-webhook"
    config = yaml.safe_load(ALERTMANAGER.read_text(encoding="utf-8"))
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            assert hook["url"].startswith("http://127.0.0.1:"), hook["url"]


def test_dashboards_are_valid_with_unique_uids_and_a_datasource_variable() -> None:
    boards = dashboards()
    assert len(boards) == len(DASHBOARDS) == 4
    uids = [b["uid"] for b in boards]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[a-z0-9-]{1,40}", uid) for uid in uids)
    ids_seen: set[str] = set()
    for board in boards:
        assert board["title"] not in ids_seen
        ids_seen.add(board["title"])
        variables = {v["name"]: v for v in board["templating"]["list"]}
        ds = variables["datasource"]
        assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
        panel_ids = [p["id"] for p in panels(board)]
        assert len(set(panel_ids)) == len(panel_ids), board["uid"]
        for panel in panels(board):
            if panel["type"] in {"text", "row"}:
                continue
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (
                board["uid"],
                panel["title"],
            )
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}"
        for var in variables.values():
            if var["type"] == "query":
                assert var["datasource"]["uid"] == "${datasource}"


def test_dashboards_use_only_defined_recording_rules() -> None:
    recorded = recorded_names()
    for board in dashboards():
        for title, expr in expressions(board):
            for name in RECORDED_NAME.findall(expr):
                assert name in recorded, f"{board['uid']} / {title}: {name}"


def test_availability_is_labelled_indicative_with_the_reason_and_the_ledger_report() -> None:
    """Wherever a dashboard averages channel states, it says the figure is indicative, why
    (averaging samples over gaps overstates uptime) and where the authoritative one is."""
    shown = 0
    for board in dashboards():
        averaging = [
            panel
            for panel in panels(board)
            for target in panel.get("targets", [])
            if "avg_over_time" in target.get("expr", "")
            or ":avg_over_time_" in target.get("expr", "")
        ]
        if not averaging:
            continue
        shown += 1
        for text in [board["description"]] + [p.get("description", "") for p in averaging]:
            assert "ориентировочн" in text, text
            assert "завыша" in text, text
            assert "overstates" in text, text
            assert "kontur report uptime" in text, text
    assert shown >= 1


def test_grafana_provisioning_files() -> None:
    (ds_file,) = sorted((GRAFANA / "provisioning" / "datasources").glob("*.yml"))
    (provider_file,) = sorted((GRAFANA / "provisioning" / "dashboards").glob("*.yml"))
    datasources = yaml.safe_load(ds_file.read_text(encoding="utf-8"))["datasources"]
    assert [(d["type"], d["url"]) for d in datasources] == [("prometheus", "http://127.0.0.1:9090")]
    (provider,) = yaml.safe_load(provider_file.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"]


def test_dashboard_metric_names_parse() -> None:
    """Sanity of the name extraction the live test relies on."""
    names = {
        n for board in dashboards() for _t, e in expressions(board) for n in METRIC_NAME.findall(e)
    }
    assert {"kontur_channel_up", "kontur_site_info", "kontur_collector_polls_total"} <= names
    assert not any(":" in n for n in names)
