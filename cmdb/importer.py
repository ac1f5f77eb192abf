"""All-or-nothing import of one file (or a list of records) of one entity kind into the CMDB.

The steps: map the header (Russian or English names), parse every cell, resolve references by
natural key, apply the kind's cross-field rules and uniqueness checks; if anything is wrong, raise
:class:`~cmdb.errors.ImportFailed` with every error and write nothing. Otherwise insert new rows,
update changed ones (matched by natural key, so re-import is idempotent) and write one audit entry
per created or updated row plus one ``import`` entry for the file, all in one transaction.
Rows are written with SQLAlchemy Core ``executemany``: the import of 35k AWPs must stay within a
small factor of a bare insert (see ``bench/import_awp.py``).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from cmdb.audit import AuditBatch
from cmdb.bulk import bulk_insert
from cmdb.choices import AuditAction
from cmdb.errors import ImportFailed
from cmdb.fields import Column, FieldError, Kind, format_value, normalize_header, parse_cell
from cmdb.i18n import t
from cmdb.kinds import KINDS, KindSpec
from cmdb.tabular import ReadError, RowError, read_table
from cmdb.tabular import Table as InputTable
from cmdb.types import utcnow

logger = logging.getLogger(__name__)

#: Above this many keys, load the whole table instead of ``IN (...)`` lists.
_BULK_THRESHOLD = 2000
_CHUNK = 500
_JSON_SCALARS = (str, int, float, bool)
_JSON_KINDS = frozenset({Kind.STR, Kind.REF, Kind.INT, Kind.FLOAT, Kind.BOOL, Kind.ENUM, Kind.IP})


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, on a dry run, would do)."""

    kind: str
    source: str
    created: int
    updated: int
    unchanged: int
    dry_run: bool
    encoding: str | None = None


@dataclass
class _Row:
    number: int
    values: dict[str, Any]  # column name → parsed value (refs still natural keys)
    yearly: dict[str, float]


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    actor: str,
    zone: dt.tzinfo,
    locale: str = "ru",
    dry_run: bool = False,
    encoding: str | None = None,
) -> ImportResult:
    """Import ``path`` as entity ``kind``; on errors raise :class:`ImportFailed`, write nothing."""
    spec = KINDS[kind]
    with _no_gc():
        try:
            table = read_table(path, kind, locale, encoding)
        except ReadError as exc:
            raise ImportFailed(exc.errors) from exc
        return _import_table(
            engine, spec, table, actor=actor, zone=zone, locale=locale, dry_run=dry_run
        )


def import_records(
    engine: Engine,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    *,
    source: str,
    actor: str,
    zone: dt.tzinfo,
    locale: str = "ru",
    dry_run: bool = False,
) -> ImportResult:
    """Import in-memory records (flat dicts keyed by column names) through the same checks."""
    header: list[str] = []
    seen: set[str] = set()
    for record in records:
        for name in record:
            if name not in seen:
                seen.add(name)
                header.append(name)
    table = InputTable(source, header)
    table.rows = [(i + 2, [r.get(h) for h in header]) for i, r in enumerate(records)]
    return import_table(
        engine, KINDS[kind], table, actor=actor, zone=zone, locale=locale, dry_run=dry_run
    )


def import_table(
    engine: Engine,
    spec: KindSpec,
    table: InputTable,
    *,
    actor: str,
    zone: dt.tzinfo,
    locale: str = "ru",
    dry_run: bool = False,
) -> ImportResult:
    """Validate and write an already-read table (see the module docstring)."""
    with _no_gc():
        return _import_table(
            engine, spec, table, actor=actor, zone=zone, locale=locale, dry_run=dry_run
        )


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: an import allocates ~10 containers per row and
    creates no reference cycles, so the collector's repeated full passes only cost time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import_table(
    engine: Engine,
    spec: KindSpec,
    table: InputTable,
    *,
    actor: str,
    zone: dt.tzinfo,
    locale: str,
    dry_run: bool,
) -> ImportResult:
    job = _ImportJob(spec, table, zone, locale)
    job.map_header()
    job.parse_rows()
    job.prepare_rows()
    with engine.connect() as conn:
        job.resolve_references(conn)
        job.check_rows()
        job.check_unique(conn)
        job.raise_if_errors()
        existing = job.load_existing(conn)
    plan = job.plan_changes(existing)
    if not dry_run and (plan.inserts or plan.updates):
        audit = AuditBatch(actor=actor, source=table.source)
        try:
            with engine.begin() as conn:
                _write(conn, spec, plan, audit)
        except IntegrityError as exc:
            detail = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
            raise ImportFailed([RowError(table.source, 0, "-", detail)]) from exc
    elif not dry_run:
        logger.info("%s: nothing to change", table.source)
    return ImportResult(
        kind=spec.name,
        source=table.source,
        created=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        dry_run=dry_run,
        encoding=table.encoding,
    )


@dataclass
class _Plan:
    inserts: list[dict[str, Any]]
    updates: list[tuple[dict[str, Any], dict[str, Any]]]  # (values incl. id, changed attrs)
    audit: list[tuple[AuditAction, str, dict[str, Any] | None, dict[str, Any]]]
    unchanged: int


def _write(conn: Connection, spec: KindSpec, plan: _Plan, audit: AuditBatch) -> None:
    table: Table = spec.model.__table__  # type: ignore[assignment]
    if plan.inserts:
        bulk_insert(conn, table, plan.inserts)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for values, _changed in plan.updates:
        attrs = tuple(sorted(k for k in values if k != "_id"))
        groups[attrs].append(values)
    for attrs, rows in groups.items():
        stmt = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({a: bindparam(a) for a in attrs})
        )
        conn.execute(stmt, rows)
    for action, key, before, after in plan.audit:
        audit.add(action, spec.entity, key, before, after)
    summary = {
        "kind": spec.name,
        "created": len(plan.inserts),
        "updated": len(plan.updates),
        "unchanged": plan.unchanged,
    }
    audit.add(AuditAction.IMPORT, spec.entity, audit.source or "-", None, summary)
    audit.write(conn)


class _ImportJob:
    """The state of one import while it is being validated."""

    def __init__(self, spec: KindSpec, table: InputTable, zone: dt.tzinfo, locale: str) -> None:
        self.spec = spec
        self.table = table
        self.zone = zone
        self.locale = locale
        self.errors: list[RowError] = []
        self.columns: list[tuple[int, Column, str]] = []  # (cell index, column, header as written)
        self.yearly_columns: list[tuple[int, int, str]] = []  # (cell index, year, header)
        self.rows: list[_Row] = []
        self.refs: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.header_of: dict[str, str] = {}
        self.missing_required: list[str] = []

    # -- errors --------------------------------------------------------------------------------

    def error(self, row: int, column: str, key: str, **params: Any) -> None:
        self.errors.append(RowError(self.table.source, row, column, t(self.locale, key, **params)))

    def field_error(self, row: int, column: str, exc: FieldError) -> None:
        self.error(row, column, exc.key, **exc.params)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ImportFailed(sorted(set(self.errors), key=lambda e: (e.row, e.column, e.reason)))

    def shown(self, column_name: str) -> str:
        """The column as the user's file names it (their header spelling)."""
        return self.header_of.get(column_name, column_name)

    # -- steps ---------------------------------------------------------------------------------

    def map_header(self) -> None:
        lookup: dict[str, Column] = {}
        for col in self.spec.columns:
            for name in col.header_names():
                lookup.setdefault(name, col)
        used: dict[str, int] = {}
        for index, raw in enumerate(self.table.header):
            header = str(raw).strip()
            if not header:
                continue
            found = lookup.get(normalize_header(header))
            if found is None:
                year = self.spec.yearly_column_year(header)
                if year is not None:
                    self.yearly_columns.append((index, year, header))
                    continue
                valid = ", ".join(c.name for c in self.spec.columns)
                if self.spec.yearly_attr:
                    valid += ", plan_YYYY"
                self.error(1, header, "col.unknown", valid=valid)
                continue
            if found.name in used:
                self.error(1, header, "col.duplicate")
                continue
            used[found.name] = index
            self.columns.append((index, found, header))
            self.header_of[found.name] = header
        # The natural key is always needed; other required columns only to create new rows
        # (a file with just `hostname,protected_network` updates existing AWPs).
        self.missing_required = [
            c.name for c in self.spec.columns if c.required and c.name not in used
        ]
        if self.spec.key in self.missing_required:
            self.error(1, self.spec.key, "col.missing")
        self.raise_if_errors()

    def parse_rows(self) -> None:
        zone = self.zone
        key_name = self.spec.key
        first_row: dict[Any, int] = {}
        width = max((index for index, _c, _h in self.columns), default=-1) + 1
        # Plain text and reference cells are most of any file: they take an inline fast path.
        plan = [
            (index, col, header, col.name, col.kind in (Kind.STR, Kind.REF), col.max_len or 0)
            for index, col, header in self.columns
        ]
        for number, raw_cells in self.table.rows:
            cells = raw_cells
            if len(cells) < width:
                cells = [*cells, *([None] * (width - len(cells)))]
            values: dict[str, Any] = {}
            for index, col, header, name, simple, max_len in plan:
                raw = cells[index]
                if simple and type(raw) is str:
                    value = raw.strip() or None
                    if value is not None and max_len and len(value) > max_len:
                        self.error(number, header, "val.too_long", max=max_len)
                        continue
                else:
                    try:
                        value = parse_cell(col, raw, zone)
                    except FieldError as exc:
                        self.field_error(number, header, exc)
                        continue
                if value is None:
                    if col.required:
                        self.error(number, header, "val.required")
                        continue
                    if col.default is not None:
                        value = col.default
                values[name] = value
            yearly: dict[str, float] = {}
            for index, year, header in self.yearly_columns:
                raw = cells[index] if index < len(cells) else None
                try:
                    value = parse_cell(Column(header, header, Kind.DECIMAL), raw, zone)
                except FieldError as exc:
                    self.field_error(number, header, exc)
                    continue
                if value is not None:
                    yearly[str(year)] = float(value)
            key = values.get(key_name)
            if key is not None:
                if key in first_row:
                    self.error(
                        number,
                        self.shown(key_name),
                        "val.duplicate_key",
                        value=str(key),
                        first=first_row[key],
                    )
                else:
                    first_row[key] = number
            self.rows.append(_Row(number, values, yearly))

    def prepare_rows(self) -> None:
        """Let the kind fill its derived values (a node's network, a certificate's end)."""
        prepare = self.spec.prepare
        if prepare is not None:
            for row in self.rows:
                prepare(row.values)

    def _reference_columns(self) -> list[Column]:
        """Reference columns in the file, plus derived ones the kind fills in."""
        present = [c for _, c, _ in self.columns]
        names = {c.name for c in present}
        present += [self.spec.column(n) for n in self.spec.derived if n not in names]
        return [c for c in present if c.kind is Kind.REF]

    def _object_refs(self, row: _Row) -> list[tuple[str, str, str]]:
        hook = self.spec.object_refs
        return list(hook(row.values)) if hook is not None else []

    def resolve_references(self, conn: Connection) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        ref_columns = self._reference_columns()
        for row in self.rows:
            for col in ref_columns:
                value = row.values.get(col.name)
                if value is not None:
                    assert col.ref is not None
                    wanted[col.ref].add(str(value))
            for _column, ref_kind, key in self._object_refs(row):
                wanted[ref_kind].add(key)
        for ref_kind, keys in wanted.items():
            self.refs[ref_kind] = load_by_keys(conn, KINDS[ref_kind], keys)
        for row in self.rows:
            for col in ref_columns:
                value = row.values.get(col.name)
                if value is None:
                    continue
                assert col.ref is not None
                found = self.refs[col.ref].get(str(value))
                if found is None:
                    self.error(
                        row.number,
                        self.shown(col.name),
                        "val.ref",
                        kind=KINDS[col.ref].title_ru if self.locale == "ru" else col.ref,
                        value=str(value),
                    )
                    continue
                allowed = self.spec.ref_kinds.get(col.name)
                if allowed and found.get("kind") not in allowed:
                    self.error(
                        row.number,
                        self.shown(col.name),
                        "val.ref_kind",
                        kind=col.ref,
                        value=str(value),
                        actual=found.get("kind"),
                        valid=", ".join(allowed),
                    )
            for column, ref_kind, key in self._object_refs(row):
                if key not in self.refs[ref_kind]:
                    self.error(row.number, self.shown(column), "val.ref", kind=ref_kind, value=key)

    def check_rows(self) -> None:
        check = self.spec.check
        if check is None:
            return
        for row in self.rows:
            for column, exc in check(row.values, self.refs):
                self.field_error(row.number, self.shown(column), exc)

    def check_unique(self, conn: Connection) -> None:
        spec = self.spec
        key_name = spec.key
        for col in (c for _, c, _ in self.columns if c.unique):
            first: dict[Any, tuple[int, Any]] = {}
            values: set[Any] = set()
            for row in self.rows:
                value = row.values.get(col.name)
                if value is None:
                    continue
                if value in first:
                    self.error(
                        row.number,
                        self.shown(col.name),
                        "val.duplicate_key",
                        value=str(value),
                        first=first[value][0],
                    )
                else:
                    first[value] = (row.number, row.values.get(key_name))
                    values.add(value)
            if not values:
                continue
            # Who holds these values in the database already?
            model_table: Table = spec.model.__table__  # type: ignore[assignment]
            key_col = model_table.c[spec.key]
            target = model_table.c[col.target]
            if col.kind is Kind.REF:
                assert col.ref is not None
                ids = {
                    self.refs[col.ref][str(v)]["id"]: v
                    for v in values
                    if str(v) in self.refs[col.ref]
                }
                holders = _select_in(conn, select(target, key_col), target, list(ids))
                taken = {ids[value]: key for value, key in holders}
            else:
                holders = _select_in(conn, select(target, key_col), target, list(values))
                taken = dict(holders)
            for value, (number, key) in first.items():
                holder = taken.get(value)
                if holder is not None and str(holder) != str(key):
                    self.error(
                        number,
                        self.shown(col.name),
                        "val.duplicate_unique",
                        value=str(value),
                        other=f"{spec.name} {holder}",
                    )

    def load_existing(self, conn: Connection) -> dict[str, dict[str, Any]]:
        keys = {str(r.values[self.spec.key]) for r in self.rows if self.spec.key in r.values}
        existing = load_by_keys(conn, self.spec, keys)
        if self.missing_required and any(k not in existing for k in keys):
            for name in self.missing_required:
                self.error(1, name, "col.missing")
            self.raise_if_errors()
        return existing

    # -- the change plan -----------------------------------------------------------------------

    def created_snapshot(self, row: _Row) -> dict[str, Any]:
        """The audit view of a new row: its parsed values (refs are natural keys already)."""
        out: dict[str, Any] = {}
        zone = self.zone
        for _index, col, _header in self.columns:
            value = row.values.get(col.name)
            if value is None or type(value) in _JSON_SCALARS or col.kind is Kind.OBJECTS:
                out[col.name] = value
            else:
                out[col.name] = format_value(col, value, zone, native=True)
        for name in self.spec.derived:
            if name not in out:
                out[name] = format_value(
                    self.spec.column(name), row.values.get(name), zone, native=True
                )
        if self.spec.yearly_attr and self.yearly_columns:
            out[self.spec.yearly_attr] = row.yearly
        return out

    def plan_changes(self, existing: Mapping[str, Mapping[str, Any]]) -> _Plan:
        spec = self.spec
        now = utcnow()
        present = [c for _, c, _ in self.columns]
        model_table: Table = spec.model.__table__  # type: ignore[assignment]
        defaults = {
            c.target: c.default
            for c in spec.columns
            if c.name not in {p.name for p in present} and c.default is not None
        }
        present += [spec.column(n) for n in spec.derived if n not in {p.name for p in present}]
        plan = _Plan([], [], [], 0)
        reverse = _ReverseRefs(self.refs)
        # (attribute, column name, natural key → id for references)
        targets = [
            (
                col.target,
                col.name,
                {k: r["id"] for k, r in self.refs[col.ref].items()} if col.ref else None,
            )
            for col in present
        ]
        audit_defaults = {c.name: c.default for c in spec.columns if c.target in defaults}
        # When every present column parses to a JSON scalar (text, numbers, booleans, keys),
        # a new row's parsed values already are its audit snapshot.
        values_are_snapshot = (
            not self.yearly_columns
            and present == [c for _, c, _ in self.columns]
            and all(c.kind in _JSON_KINDS for c in present)
        )
        for row in self.rows:
            attrs: dict[str, Any] = {}
            values = row.values
            for target, name, ids in targets:
                value = values.get(name)
                if ids is not None and value is not None:
                    value = ids[str(value)]
                attrs[target] = value
            if spec.yearly_attr and self.yearly_columns:
                attrs[spec.yearly_attr] = row.yearly
            key = str(row.values[spec.key])
            old = existing.get(key)
            if old is None:
                record = {**defaults, **attrs, "created_at": now, "updated_at": now}
                if spec.yearly_attr and spec.yearly_attr not in record:
                    record[spec.yearly_attr] = {}
                plan.inserts.append(record)
                after = row.values if values_are_snapshot else self.created_snapshot(row)
                if audit_defaults:
                    after = {**audit_defaults, **after}
                plan.audit.append((AuditAction.CREATE, key, None, after))
                continue
            changed = {}
            for attr, value in attrs.items():
                if spec.yearly_attr and attr == spec.yearly_attr:
                    merged = {**(old.get(attr) or {}), **value}
                    if merged != (old.get(attr) or {}):
                        changed[attr] = merged
                elif not _same(old.get(attr), value, model_table, attr):
                    changed[attr] = value
            if not changed:
                plan.unchanged += 1
                continue
            plan.updates.append(({"_id": old["id"], **changed, "updated_at": now}, changed))
            before = snapshot(spec, {a: old.get(a) for a in changed}, reverse, self.zone)
            after = snapshot(spec, changed, reverse, self.zone)
            plan.audit.append((AuditAction.UPDATE, key, before, after))
        return plan


def _same(old: Any, new: Any, table: Table, attr: str) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(new, Decimal) or isinstance(old, Decimal):
        return Decimal(str(old)) == Decimal(str(new))
    if isinstance(new, float) and isinstance(old, float | int):
        return abs(float(old) - new) < 1e-9
    return bool(old == new)


class _ReverseRefs:
    """id → natural key of referenced rows, for audit snapshots that show keys, not ids."""

    def __init__(self, refs: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> None:
        self.maps: dict[str, dict[int, str]] = {
            kind: {row["id"]: key for key, row in rows.items()} for kind, rows in refs.items()
        }

    def key(self, kind: str, ident: int) -> str:
        return self.maps.get(kind, {}).get(ident, f"#{ident}")


def snapshot(
    spec: KindSpec, attrs: Mapping[str, Any], reverse: _ReverseRefs, zone: dt.tzinfo
) -> dict[str, Any]:
    """A JSON-friendly view of row attributes under their column names (refs as natural keys)."""
    out: dict[str, Any] = {}
    for col in spec.columns:
        if col.target not in attrs:
            continue
        value = attrs[col.target]
        if col.kind is Kind.REF and value is not None:
            assert col.ref is not None
            out[col.name] = reverse.key(col.ref, value)
        elif col.kind is Kind.OBJECTS:
            out[col.name] = value
        else:
            out[col.name] = format_value(col, value, zone, native=True)
    if spec.yearly_attr and spec.yearly_attr in attrs:
        out[spec.yearly_attr] = attrs[spec.yearly_attr]
    return out


def _select_in(conn: Connection, query: Any, column: Any, values: list[Any]) -> list[Any]:
    rows: list[Any] = []
    for start in range(0, len(values), _CHUNK):
        rows.extend(conn.execute(query.where(column.in_(values[start : start + _CHUNK]))).all())
    return rows


def load_by_keys(
    conn: Connection, spec: KindSpec, keys: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Rows of ``spec`` whose natural key is in ``keys``, as dicts by (string) key."""
    table: Table = spec.model.__table__  # type: ignore[assignment]
    key_col = table.c[spec.key]
    wanted = set(keys)
    if not wanted:
        return {}
    if len(wanted) > _BULK_THRESHOLD:
        result = conn.execute(select(table))
        return {
            str(row[spec.key]): dict(row)
            for row in result.mappings()
            if str(row[spec.key]) in wanted
        }
    values: list[Any] = list(wanted)
    if spec.key_column.kind is Kind.INT:
        values = [int(v) for v in wanted if v.lstrip("-").isdigit()]
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(values), _CHUNK):
        chunk = values[start : start + _CHUNK]
        for row in conn.execute(select(table).where(key_col.in_(chunk))).mappings():
            found[str(row[spec.key])] = dict(row)
    return found
