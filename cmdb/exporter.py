"""Export of an entity kind as flat records keyed by the same column names the import accepts.

Enum columns carry their values (``fap``), references the natural key of the referenced row,
dates ISO 8601 and times ISO 8601 with the region's offset, so an export re-imports unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Sequence
from typing import Any, Literal

import yaml
from sqlalchemy import Connection, Engine, Table, select

from cmdb.fields import Kind, format_value
from cmdb.kinds import KINDS, KindSpec

Format = Literal["csv", "xlsx", "json", "yaml"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", "yaml")


def _key_maps(conn: Connection, spec: KindSpec) -> dict[str, dict[int, str]]:
    maps: dict[str, dict[int, str]] = {}
    for col in spec.columns:
        if col.kind is Kind.REF and col.ref and col.ref not in maps:
            ref = KINDS[col.ref]
            table: Table = ref.model.__table__  # type: ignore[assignment]
            rows = conn.execute(select(table.c.id, table.c[ref.key])).all()
            maps[col.ref] = {ident: str(key) for ident, key in rows}
    return maps


def export_records(
    engine: Engine, kind: str, zone: dt.tzinfo, *, native: bool, headers: str = "en"
) -> tuple[list[str], list[dict[str, Any]]]:
    """All rows of ``kind`` ordered by natural key, as (header, records)."""
    spec = KINDS[kind]
    table: Table = spec.model.__table__  # type: ignore[assignment]
    with engine.connect() as conn:
        maps = _key_maps(conn, spec)
        rows = conn.execute(select(table).order_by(table.c[spec.key])).mappings().all()
    years: list[str] = []
    if spec.yearly_attr:
        years = sorted({year for row in rows for year in (row[spec.yearly_attr] or {})})
    names = [c.ru if headers == "ru" else c.name for c in spec.columns]
    prefix = "план" if headers == "ru" else "plan"
    header = names + [f"{prefix}_{y}" for y in years]
    records: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {}
        for col, name in zip(spec.columns, names, strict=True):
            value = row[col.target]
            if col.kind is Kind.REF and value is not None:
                assert col.ref is not None
                value = maps[col.ref].get(value)
            record[name] = format_value(col, value, zone, native=native)
        if spec.yearly_attr:
            plan = row[spec.yearly_attr] or {}
            for y in years:
                value = plan.get(y)
                if value is not None and float(value).is_integer():
                    value = int(value)
                record[f"{prefix}_{y}"] = value if native or value is None else str(value)
                if not native and value is None:
                    record[f"{prefix}_{y}"] = ""
        records.append(record)
    return header, records


def render(header: Sequence[str], records: Sequence[dict[str, Any]], fmt: str, kind: str) -> bytes:
    """Serialize exported records in ``fmt``: CSV (UTF-8 with BOM for Excel), XLSX, JSON, YAML."""
    if fmt == "csv":
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)
        return ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if fmt == "json":
        return (json.dumps(list(records), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if fmt == "yaml":
        return yaml.safe_dump(list(records), allow_unicode=True, sort_keys=False).encode("utf-8")
    if fmt == "xlsx":
        import openpyxl

        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(kind)
        sheet.append(list(header))
        for record in records:
            sheet.append([record.get(h) for h in header])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
