"""Import of status history from another monitoring system into the status ledger.

A file of (object kind, object key, vantage, timestamp, state) rows, CSV/XLSX/JSON/YAML like every
import, all or nothing: every object must exist in the CMDB, every value must parse, no two rows
may give the same object, vantage and instant; rows already in the ledger with the same state are
skipped (re-import is idempotent), a different state at the same instant is an error. The live
``object_state`` of collectors is not touched: imported rows are history.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from cmdb.audit import AuditBatch
from cmdb.bulk import bulk_insert
from cmdb.choices import AuditAction, ObjectKind, State
from cmdb.errors import ImportFailed
from cmdb.fields import Column, FieldError, Kind, normalize_header, parse_cell
from cmdb.i18n import t
from cmdb.importer import load_by_keys
from cmdb.kinds import KINDS, OBJECT_KINDS
from cmdb.models import StatusTransition
from cmdb.tabular import ReadError, RowError, read_table

COLUMNS = (
    Column("object_kind", "вид объекта", Kind.ENUM, enum=ObjectKind, required=True),
    Column("object_key", "объект", required=True, max_len=255, aliases=("ключ",)),
    Column("vantage", "точка наблюдения", required=True, max_len=64),
    Column("at", "время", Kind.DATETIME, required=True, aliases=("timestamp",)),
    Column("state", "состояние", Kind.ENUM, enum=State, required=True),
)
_VANTAGE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class StatusImportResult:
    """Counts of an events import."""

    source: str
    created: int
    unchanged: int
    dry_run: bool


def import_status_events(
    engine: Engine,
    path: Path,
    *,
    actor: str,
    zone: dt.tzinfo,
    locale: str = "ru",
    dry_run: bool = False,
    encoding: str | None = None,
) -> StatusImportResult:
    """Validate ``path`` and append its events to the ledger; :class:`ImportFailed` on errors."""
    source = str(path)
    try:
        table = read_table(path, "status-events", locale, encoding)
    except ReadError as exc:
        raise ImportFailed(exc.errors) from exc
    errors: list[RowError] = []

    def error(row: int, column: str, key: str, **params: Any) -> None:
        errors.append(RowError(source, row, column, t(locale, key, **params)))

    lookup = {name: col for col in COLUMNS for name in col.header_names()}
    index: dict[str, tuple[int, str]] = {}
    for i, header in enumerate(table.header):
        col = lookup.get(normalize_header(header))
        if col is None:
            error(1, header, "col.unknown", valid=", ".join(c.name for c in COLUMNS))
        elif col.name in index:
            error(1, header, "col.duplicate")
        else:
            index[col.name] = (i, header)
    for col in COLUMNS:
        if col.name not in index:
            error(1, col.name, "col.missing")
    if errors:
        raise ImportFailed(errors)

    rows: list[tuple[int, dict[str, Any]]] = []
    for number, cells in table.rows:
        values: dict[str, Any] = {}
        for col in COLUMNS:
            i, header = index[col.name]
            raw = cells[i] if i < len(cells) else None
            try:
                value = parse_cell(col, raw, zone)
            except FieldError as exc:
                error(number, header, exc.key, **exc.params)
                continue
            if value is None:
                error(number, header, "val.required")
                continue
            values[col.name] = value
        vantage = values.get("vantage")
        if vantage is not None and not _VANTAGE.match(vantage):
            error(number, index["vantage"][1], "val.enum", value=vantage, valid="[a-z0-9_-]")
            values.pop("vantage")
        rows.append((number, values))

    # Objects must exist; duplicates in the file are refused.
    wanted: dict[str, set[str]] = defaultdict(set)
    for _number, values in rows:
        if "object_kind" in values and "object_key" in values:
            wanted[values["object_kind"]].add(values["object_key"])
    seen: dict[tuple[str, str, str, dt.datetime], int] = {}
    with engine.connect() as conn:
        found = {
            kind: set(load_by_keys(conn, KINDS[OBJECT_KINDS[kind]], keys))
            for kind, keys in wanted.items()
        }
        for number, values in rows:
            if "object_kind" in values and "object_key" in values:
                kind, key = values["object_kind"], values["object_key"]
                if key not in found.get(kind, set()):
                    error(number, index["object_key"][1], "val.ref", kind=kind, value=key)
            if len(values) < len(COLUMNS):
                continue
            kind, key = values["object_kind"], values["object_key"]
            ident = (kind, key, values["vantage"], values["at"])
            if ident in seen:
                error(
                    number, index["at"][1], "val.duplicate_key",
                    value=f"{kind}:{key}@{values['at'].isoformat()}", first=seen[ident],
                )  # fmt: skip
            else:
                seen[ident] = number
        existing: dict[tuple[str, str, str, dt.datetime], str] = {}
        history: dict[tuple[str, str, str], list[tuple[dt.datetime, str]]] = defaultdict(list)
        for kind, keys in wanted.items():
            for row in conn.execute(
                select(
                    StatusTransition.object_kind, StatusTransition.object_key,
                    StatusTransition.vantage, StatusTransition.at, StatusTransition.state,
                ).where(
                    StatusTransition.object_kind == kind,
                    StatusTransition.object_key.in_(sorted(keys)),
                )
            ):  # fmt: skip
                existing[(row[0], row[1], row[2], row[3])] = row[4]
                history[(row[0], row[1], row[2])].append((row[3], row[4]))
    new: list[dict[str, Any]] = []
    unchanged = 0
    for number, values in rows:
        if len(values) < len(COLUMNS):
            continue
        ident = (values["object_kind"], values["object_key"], values["vantage"], values["at"])
        if ident in existing:
            if existing[ident] != values["state"]:
                error(
                    number, index["state"][1], "val.duplicate_unique",
                    value=values["state"], other=f"{existing[ident]} @ {values['at'].isoformat()}",
                )  # fmt: skip
            else:
                unchanged += 1
            continue
        history[ident[:3]].append((values["at"], values["state"]))
        new.append({**values, "_row": number})
    if errors:
        raise ImportFailed(sorted(set(errors), key=lambda e: (e.row, e.column, e.reason)))

    # The state each event replaces, from the merged history of the object.
    for events in history.values():
        events.sort()
    records = []
    for values in new:
        events = history[(values["object_kind"], values["object_key"], values["vantage"])]
        position = events.index((values["at"], values["state"]))
        previous = events[position - 1][1] if position else None
        records.append(
            {
                "object_kind": values["object_kind"],
                "object_key": values["object_key"],
                "vantage": values["vantage"],
                "at": values["at"],
                "state": values["state"],
                "previous": previous,
                "reason": "imported",
                "source": source,
            }
        )
    if records and not dry_run:
        audit = AuditBatch(actor=actor, source=source)
        audit.add(
            AuditAction.IMPORT, "status_transition", source, None,
            {"kind": "status-events", "created": len(records), "unchanged": unchanged},
        )  # fmt: skip
        with engine.begin() as conn:
            bulk_insert(conn, StatusTransition.__table__, records)  # type: ignore[arg-type]
            audit.write(conn)
    return StatusImportResult(source, len(records), unchanged, dry_run)
