"""Reading the monitoring assets under ``dashboards/`` for the tests: rules, dashboards, names."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2] / "dashboards"
PROMETHEUS = ROOT / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
GRAFANA = ROOT / "grafana"
DASHBOARDS = sorted(GRAFANA.glob("*.json"))
ALERTMANAGER = ROOT / "alertmanager" / "alertmanager.yml"

#: Exporter metric names in PromQL (recording rules have colons and are checked separately).
METRIC_NAME = re.compile(r"(?<![\w:])(kontur_[a-z0-9_]+)")
RECORDED_NAME = re.compile(r"(?<![\w:])([a-z_]+:[a-z0-9_:]+)")


def binary(name: str, package: str) -> str:
    """A Prometheus tool's path, or skip saying which Debian package provides it."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return path


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in RULES:
        groups += yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    return groups


def rules() -> Iterator[dict[str, Any]]:
    for group in rule_groups():
        yield from group["rules"]


def alerts() -> list[dict[str, Any]]:
    return [r for r in rules() if "alert" in r]


def recorded_names() -> set[str]:
    return {r["record"] for r in rules() if "record" in r}


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARDS]


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows


def expressions(board: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every query target and query variable of a dashboard."""
    for panel in panels(board):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield panel.get("title", ""), target["expr"]
    for var in board.get("templating", {}).get("list", []):
        if var.get("type") == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            yield f"${var['name']}", inner.group(1) if inner else query


def exporter_names(metrics_text: str) -> set[str]:
    """Every family and sample name an exposition carries (families without samples too)."""
    names: set[str] = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE ") or line.startswith("# HELP "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def substitute(expr: str, variables: dict[str, str]) -> str:
    """Grafana's variables replaced by values a plain Prometheus accepts."""
    out = expr
    for name, value in sorted(variables.items(), key=lambda kv: -len(kv[0])):
        out = out.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return out
