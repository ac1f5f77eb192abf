"""Bulk INSERT at the driver level, for imports and the audit journal.

SQLAlchemy Core's executemany runs each bound value through the column type's Python processor,
which for a 35k-row import costs as much as the database work itself. Here each column gets one
converter chosen once from its type and dialect, and the rows go to the DBAPI ``executemany`` as
tuples. Only the types the CMDB uses are handled; anything else is refused loudly, never guessed.
The results are read back through the ORM in the tests, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Connection, Date, DateTime, Float, Integer, Numeric, String
from sqlalchemy import Table as SATable
from sqlalchemy.types import TypeDecorator

Converter = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime() -> Converter:
    # SQLAlchemy's SQLite DATETIME storage format, in UTC (see cmdb.types.UTCDateTime).
    # A batch stamps all its rows with one time: remember the last conversion.
    last: list[Any] = [None, None]

    def convert(value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        if value is last[0]:
            return last[1]  # type: ignore[no-any-return]
        utc = value
        if utc.tzinfo is not dt.UTC:
            if utc.tzinfo is None:
                raise ValueError(f"naive datetime {value!r} given where UTC is required")
            utc = utc.astimezone(dt.UTC)
        last[0], last[1] = value, utc.strftime("%Y-%m-%d %H:%M:%S.%f")
        return last[1]  # type: ignore[no-any-return]

    return convert


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _to_float(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def _json_dumps(value: Any) -> str:
    # orjson: ~7x faster than json.dumps on audit snapshots, same JSON (UTF-8, no escapes).
    return orjson.dumps(value).decode()


def _json_nullable(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _converter(column_type: Any, dialect: str) -> Converter:
    impl = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
    if isinstance(impl, JSON):
        return _json_nullable if impl.none_as_null else _json_dumps
    if isinstance(impl, DateTime):
        return _sqlite_datetime() if dialect == "sqlite" else _identity
    if isinstance(impl, Date):
        return _sqlite_date if dialect == "sqlite" else _identity
    if isinstance(impl, Float):
        return _identity
    if isinstance(impl, Numeric):
        return _to_float if dialect == "sqlite" else _identity
    if isinstance(impl, String | Integer | Boolean):
        return _identity
    raise TypeError(f"bulk insert does not handle column type {column_type!r}")


def _copy_rows(
    conn: Connection,
    table: SATable,
    names: list[str],
    converters: list[Converter],
    rows: list[Any],
) -> None:
    """PostgreSQL: stream the rows with COPY FROM STDIN on the transaction's own connection."""
    preparer = conn.dialect.identifier_preparer
    statement = "COPY {} ({}) FROM STDIN".format(
        preparer.format_table(table), ", ".join(preparer.quote(n) for n in names)
    )
    convert = [(i, conv) for i, conv in enumerate(converters) if conv is not _identity]
    single = len(names) == 1
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = [row] if single else list(row)
            for i, conv in convert:
                values[i] = conv(values[i])
            copy.write_row(values)


def bulk_insert(conn: Connection, table: SATable, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` inside the caller's transaction."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect not in {"sqlite", "postgresql"}:
        raise ValueError(f"bulk insert supports sqlite and postgresql, not {dialect}")
    names = list(rows[0])
    keys = set(names)
    for row in rows:
        if row.keys() != keys:
            raise ValueError(f"bulk insert rows differ in columns: {sorted(row.keys() ^ keys)}")
    # Python-side column defaults (SQLAlchemy applies them in Core inserts; so must we).
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in keys or column.default is None or column.primary_key:
            continue
        default = column.default
        if default.is_scalar:
            defaults[column.name] = default.arg  # type: ignore[attr-defined]
        elif default.is_callable:
            defaults[column.name] = default.arg(None)  # type: ignore[attr-defined]
    if defaults:
        rows = [{**row, **defaults} for row in rows]
        names += list(defaults)
    converters = [_converter(table.c[name].type, dialect) for name in names]
    marker = "?" if dialect == "sqlite" else "%s"
    preparer = conn.dialect.identifier_preparer
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - identifiers from our metadata
        preparer.format_table(table),
        ", ".join(preparer.quote(name) for name in names),
        ", ".join([marker] * len(names)),
    )
    getter = itemgetter(*names)
    if dialect == "postgresql":
        _copy_rows(conn, table, names, converters, [getter(row) for row in rows])
        return
    convert = [(i, conv) for i, conv in enumerate(converters) if conv is not _identity]
    params: list[Any]
    if len(names) == 1:
        params = [(getter(row),) for row in rows]
    elif not convert:
        params = [getter(row) for row in rows]
    else:
        params = []
        append = params.append
        for row in rows:
            values = list(getter(row))
            for i, conv in convert:
                values[i] = conv(values[i])
            append(tuple(values))
    conn.exec_driver_sql(sql, params)
