"""A provisioning run as attestation evidence: JSON or XLSX, with testinfra verification results.

The document carries the run (playbook, limit, tags, check mode, who, when, outcome), the gate's
refusals and the overrides that let hosts through (who approved them), the per-host recap, every
host/task result with its diff, and optionally the results of the testinfra verification that
followed (JUnit XML files written by ``pytest --junitxml``; each test case names its host in
testinfra's ``[ansible://HOST]`` parameter).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, select

from cmdb.errors import KonturError
from cmdb.models import GateOverride
from provision.runner import RunView, get_run

FORMATS: Final = ("json", "xlsx")
_HOST_PARAM: Final = re.compile(r"\[(?:[a-z+]+://)?([^\]]+)\]")


class BadVerification(KonturError):
    """A verification file is not a readable JUnit XML report."""


@dataclass(frozen=True)
class TestResult:
    """One verification test: its name, the host it checked, passed/failed/skipped, the message."""

    file: str
    name: str
    host: str | None
    outcome: str
    message: str | None


def read_junit(path: Path) -> list[TestResult]:
    """The test cases of a JUnit XML report (as ``pytest --junitxml`` writes it)."""
    try:
        root = ET.parse(path).getroot()  # noqa: S314 (a report our own test run wrote)
    except (OSError, ET.ParseError) as exc:
        raise BadVerification(f"{path}: {exc}") from exc
    results: list[TestResult] = []
    for case in root.iter("testcase"):
        name = case.get("name", "")
        host_match = _HOST_PARAM.search(name)
        outcome, message = "passed", None
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = "skipped" if tag == "skipped" else "failed"
                message = (node.get("message") or node.text or "").strip()[:2000] or None
                break
        classname = case.get("classname", "")
        results.append(
            TestResult(
                file=path.name,
                name=f"{classname}::{name}" if classname else name,
                host=host_match.group(1) if host_match else None,
                outcome=outcome,
                message=message,
            )
        )
    return results


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def evidence(engine: Engine, run_id: int, verification: Sequence[Path] = ()) -> dict[str, Any]:
    """The evidence document of a run as a JSON-ready dict."""
    run = get_run(engine, run_id)
    tests = [t for path in verification for t in read_junit(path)]
    ids = sorted({i for r in run.overridden for i in r.get("override_ids", [])})
    overrides: list[dict[str, Any]] = []
    if ids:
        with engine.connect() as conn:
            for row in conn.execute(select(GateOverride).where(GateOverride.id.in_(ids))):
                overrides.append(
                    {
                        "id": row.id,
                        "target_kind": row.target_kind,
                        "target_key": row.target_key,
                        "reason": row.reason,
                        "approved_by": row.approved_by,
                        "valid_until": _iso(row.valid_until),
                    }
                )
    return {
        "run": _run_dict(run),
        "gate": {"refused": run.refused, "overridden": run.overridden, "overrides": overrides},
        "recap": run.recap,
        "events": [{**asdict(e), "at": _iso(e.at)} for e in run.events],
        "verification": {
            "files": [p.name for p in verification],
            "passed": sum(t.outcome == "passed" for t in tests),
            "failed": sum(t.outcome == "failed" for t in tests),
            "skipped": sum(t.outcome == "skipped" for t in tests),
            "tests": [asdict(t) for t in tests],
        },
    }


def _run_dict(run: RunView) -> dict[str, Any]:
    return {
        "id": run.id,
        "playbook": run.playbook,
        "limit": run.limit,
        "tags": run.tags,
        "check_mode": run.check_mode,
        "actor": run.actor,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "status": run.status,
        "rc": run.rc,
        "hosts": run.hosts,
        "counts": run.counts,
        "message": run.message,
    }


def to_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


_SHEETS: Final = {
    "run": "Запуск",
    "hosts": "Хосты",
    "events": "События",
    "gate": "Допуск",
    "verification": "Проверка",
}


def to_xlsx(document: dict[str, Any], zone: dt.tzinfo) -> bytes:
    """The evidence as a workbook: run, per-host recap, events, gate, verification (in Russian)."""
    from openpyxl import Workbook

    def local(value: str | None) -> str:
        if not value:
            return ""
        return dt.datetime.fromisoformat(value).astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")

    book = Workbook()
    sheet = book.active
    sheet.title = _SHEETS["run"]
    run = document["run"]
    rows: list[tuple[str, Any]] = [
        ("Запуск №", run["id"]),
        ("Сценарий (playbook)", run["playbook"]),
        ("Ограничение (--limit)", run["limit"] or ""),
        ("Теги", run["tags"] or ""),
        ("Режим проверки (--check)", "да" if run["check_mode"] else "нет"),
        ("Кто запустил", run["actor"]),
        ("Начало", local(run["started_at"])),
        ("Окончание", local(run["finished_at"])),
        ("Итог", run["status"]),
        ("Код возврата", run["rc"] if run["rc"] is not None else ""),
        ("Хостов допущено", run["hosts"]),
        *((f"Задач: {k}", v) for k, v in run["counts"].items()),
        ("Проверок пройдено", document["verification"]["passed"]),
        ("Проверок не пройдено", document["verification"]["failed"]),
    ]
    for row in rows:
        sheet.append(list(row))

    hosts = book.create_sheet(_SHEETS["hosts"])
    stats = ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored")
    hosts.append(["хост", *stats])
    for host, counts in sorted(document["recap"].items()):
        hosts.append([host, *(counts.get(s, 0) for s in stats)])

    events = book.create_sheet(_SHEETS["events"])
    events.append(
        ["№", "время", "хост", "объект", "сценарий", "задача", "итог", "изменения", "сообщение"]
    )
    for e in document["events"]:
        obj = f"{e['object_kind']}:{e['object_key']}" if e["object_kind"] else ""
        events.append(
            [e["seq"], local(e["at"]), e["host"], obj, e["play"], e["task"], e["status"],
             e["diff"] or "", e["message"] or ""]
        )  # fmt: skip

    gate = book.create_sheet(_SHEETS["gate"])
    gate.append(["хост", "решение", "причины", "исключения"])
    for r in document["gate"]["refused"]:
        gate.append([r["host"], "отказано", "; ".join(x["text"] for x in r["reasons"]), ""])
    for r in document["gate"]["overridden"]:
        ids = ", ".join(str(i) for i in r.get("override_ids", []))
        gate.append(
            [r["host"], "допущен по исключению", "; ".join(x["text"] for x in r["reasons"]), ids]
        )
    gate.append([])
    gate.append(["исключение №", "объект", "причина", "разрешил", "действует до"])
    for o in document["gate"]["overrides"]:
        gate.append(
            [o["id"], f"{o['target_kind']}:{o['target_key']}", o["reason"], o["approved_by"],
             local(o["valid_until"])]
        )  # fmt: skip

    verification = book.create_sheet(_SHEETS["verification"])
    verification.append(["файл", "проверка", "хост", "итог", "сообщение"])
    for t in document["verification"]["tests"]:
        verification.append(
            [t["file"], t["name"], t["host"] or "", t["outcome"], t["message"] or ""]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
