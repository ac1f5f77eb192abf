"""Paged, filtered, sorted and searched lists of a CMDB kind, for the API and the UI.

One list costs a bounded number of queries whatever the page size: one count, one page, and one
lookup per reference column to show referenced objects by their natural keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, Table, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from cmdb.choices import LABELS_RU
from cmdb.errors import KonturError
from cmdb.fields import Kind
from cmdb.importer import _ReverseRefs, snapshot
from cmdb.kinds import KINDS, KindSpec, get_kind

#: Columns searched by ``q`` besides the natural key (substring, case-insensitive).
SEARCHABLE: Final = frozenset(
    {"name", "short_name", "full_name", "hostname", "address", "object_name", "title", "code"}
)


class BadQuery(KonturError):
    """A filter, sort or paging parameter that the kind does not have or cannot take."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")


@dataclass(frozen=True)
class Page:
    kind: str
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def _table(spec: KindSpec) -> Table:
    table: Table = spec.model.__table__  # type: ignore[assignment]
    return table


def _condition(spec: KindSpec, table: Table, name: str, raw: str) -> ColumnElement[bool]:
    try:
        col = spec.column(name)
    except (KeyError, KonturError):
        raise BadQuery(name, "нет такого поля") from None
    target = table.c[col.target]
    if col.kind is Kind.REF:
        assert col.ref is not None
        ref = KINDS[col.ref]
        ref_table = _table(ref)
        key_value: Any = raw
        if ref.key_column.kind is Kind.INT:
            if not raw.lstrip("-").isdigit():
                raise BadQuery(name, f"не целое число: {raw!r}")
            key_value = int(raw)
        found: ColumnElement[bool] = target.in_(
            select(ref_table.c.id).where(ref_table.c[ref.key] == key_value)
        )
        return found
    if col.kind is Kind.ENUM:
        assert col.enum is not None
        by_label = {LABELS_RU.get(m.value, m.value).lower(): m.value for m in col.enum}
        values = {m.value for m in col.enum}
        value = raw if raw in values else by_label.get(raw.lower())
        if value is None:
            raise BadQuery(name, f"недопустимое значение {raw!r}; допустимы: {', '.join(values)}")
        return target == value
    if col.kind is Kind.BOOL:
        lowered = raw.lower()
        if lowered not in {"true", "false", "1", "0", "да", "нет"}:
            raise BadQuery(name, f"ожидается true или false, получено {raw!r}")
        return target.is_(lowered in {"true", "1", "да"})
    if col.kind in (Kind.INT, Kind.FLOAT, Kind.DECIMAL):
        try:
            number: float = int(raw) if col.kind is Kind.INT else float(raw)
        except ValueError:
            raise BadQuery(name, f"не число: {raw!r}") from None
        return target == number
    if col.kind is Kind.DATE:
        try:
            return target == dt.date.fromisoformat(raw)
        except ValueError:
            raise BadQuery(name, f"ожидается дата ГГГГ-ММ-ДД, получено {raw!r}") from None
    if col.kind in (Kind.DATETIME, Kind.OBJECTS):
        raise BadQuery(name, "по этому полю фильтр не поддерживается")
    return target == raw


def search_condition(spec: KindSpec, table: Table, q: str) -> ColumnElement[bool]:
    needle = q.strip().lower()
    columns = [table.c[spec.key_column.target]] + [
        table.c[c.target]
        for c in spec.columns
        if c.name in SEARCHABLE and c.kind is Kind.STR and c.target in table.c
    ]
    return or_(*(func.lower(col).contains(needle, autoescape=True) for col in columns))


def list_records(
    engine: Engine,
    kind: str,
    *,
    zone: dt.tzinfo,
    filters: Mapping[str, str] | None = None,
    q: str | None = None,
    sort: str | None = None,
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of ``kind``: items as snapshots (column names, refs as natural keys)."""
    spec = get_kind(kind)
    table = _table(spec)
    if page < 1:
        raise BadQuery("page", "номер страницы начинается с 1")
    if per_page < 1:
        raise BadQuery("per_page", "размер страницы должен быть положительным")
    conditions = [_condition(spec, table, n, v) for n, v in (filters or {}).items()]
    if q and q.strip():
        conditions.append(search_condition(spec, table, q))
    order_col = spec.key_column
    if sort:
        try:
            order_col = spec.column(sort)
        except (KeyError, KonturError):
            raise BadQuery("sort", f"нет такого поля {sort!r}") from None
        if order_col.kind is Kind.OBJECTS:
            raise BadQuery("sort", f"по полю {sort!r} нельзя сортировать")
    order = table.c[order_col.target]
    key = table.c[spec.key_column.target]
    ordering = [order.desc() if descending else order.asc(), key.asc()]
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(table).where(*conditions)) or 0)
        rows = [
            dict(row)
            for row in conn.execute(
                select(table)
                .where(*conditions)
                .order_by(*ordering)
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).mappings()
        ]
        maps: dict[str, dict[int, str]] = {}
        for col in spec.columns:
            if col.kind is not Kind.REF or col.ref is None:
                continue
            ids = {row[col.target] for row in rows if row.get(col.target) is not None}
            if not ids:
                continue
            ref = KINDS[col.ref]
            ref_table = _table(ref)
            found = conn.execute(
                select(ref_table.c.id, ref_table.c[ref.key]).where(ref_table.c.id.in_(ids))
            ).all()
            maps.setdefault(col.ref, {}).update({i: str(k) for i, k in found})
    reverse = _ReverseRefs({})
    reverse.maps = maps
    items = [snapshot(spec, row, reverse, zone) for row in rows]
    return Page(kind, items, total, page, per_page)
