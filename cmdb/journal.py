"""Reading the audit journal: filtered, paged (newest first) and exported as CSV or XLSX.

The journal is append-only: this module only reads it. Filters: actor (case-insensitive
substring), entity, action, key (exact), and a range of days in the region's time zone (both
ends inclusive). A page costs two queries (count and page); an export streams the filtered
entries in chunks, so its memory does not grow with the journal.

Errors raised here::

    KonturError
    └── BadJournalQuery    a filter value that cannot be used (unknown action, bad date, …)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from cmdb.choices import AuditAction
from cmdb.errors import KonturError
from cmdb.models import AuditEntry

#: Export formats of the journal.
EXPORT_FORMATS: Final = ("csv", "xlsx")
#: Rows fetched per round trip while exporting.
_EXPORT_CHUNK: Final = 2000
#: Longest value accepted for a text filter (the column sizes).
_MAX_FILTER = 255


class BadJournalQuery(KonturError):
    """A journal filter that cannot be used: ``parameter`` and a human ``reason`` (Russian)."""

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")


def parse_day(raw: str | None, parameter: str) -> dt.date | None:
    """``DD.MM.YYYY`` or ``YYYY-MM-DD`` (blank → None); :class:`BadJournalQuery` otherwise."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.split("."))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadJournalQuery(
            parameter, f"ожидается дата ДД.ММ.ГГГГ или ГГГГ-ММ-ДД, получено {text!r}"
        ) from None


@dataclass(frozen=True)
class JournalFilter:
    """What to show of the journal; empty fields do not filter."""

    actor: str | None = None
    entity: str | None = None
    action: str | None = None
    key: str | None = None
    #: first and last day (inclusive) in ``zone``
    since: dt.date | None = None
    until: dt.date | None = None

    def validate(self) -> JournalFilter:
        """Self, after checking every value; :class:`BadJournalQuery` names the bad one."""
        for name in ("actor", "entity", "key"):
            value = getattr(self, name)
            if value is not None and len(value) > _MAX_FILTER:
                raise BadJournalQuery(name, f"длиннее {_MAX_FILTER} символов")
            if value is not None and "\x00" in value:
                raise BadJournalQuery(name, "недопустимый символ NUL")
        if self.action and self.action not in {a.value for a in AuditAction}:
            valid = ", ".join(a.value for a in AuditAction)
            raise BadJournalQuery(
                "action", f"недопустимое значение {self.action!r}; допустимы: {valid}"
            )
        if self.since and self.until and self.until < self.since:
            raise BadJournalQuery("until", "конец периода раньше его начала")
        return self

    def conditions(self, zone: dt.tzinfo) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor and self.actor.strip():
            found.append(
                func.lower(AuditEntry.actor).contains(self.actor.strip().lower(), autoescape=True)
            )
        if self.entity and self.entity.strip():
            found.append(AuditEntry.entity == self.entity.strip())
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.key and self.key.strip():
            found.append(AuditEntry.entity_key == self.key.strip())
        if self.since:
            found.append(AuditEntry.at >= _start_of(self.since, zone))
        if self.until:
            found.append(AuditEntry.at < _start_of(self.until + dt.timedelta(days=1), zone))
        return found


def _start_of(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class JournalEntry:
    """One journal entry with the fields that changed (for updates: only those that differ)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    key: str
    source: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) of every field that differs, in the entry's own order."""
        before, after = self.before or {}, self.after or {}
        names = list(before) + [name for name in after if name not in before]
        return [
            (name, before.get(name), after.get(name))
            for name in names
            if before.get(name) != after.get(name) or not (self.before and self.after)
        ]


@dataclass(frozen=True)
class JournalPage:
    items: list[JournalEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _entry(row: AuditEntry) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        entity=row.entity,
        key=row.entity_key,
        source=row.source,
        before=row.before,
        after=row.after,
    )


def _query(flt: JournalFilter, zone: dt.tzinfo) -> Select[tuple[AuditEntry]]:
    return (
        select(AuditEntry)
        .where(*flt.validate().conditions(zone))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )


def journal_page(
    engine: Engine, flt: JournalFilter, zone: dt.tzinfo, *, page: int = 1, per_page: int = 50
) -> JournalPage:
    """One page of the filtered journal, newest first."""
    if page < 1:
        raise BadJournalQuery("page", "номер страницы начинается с 1")
    if per_page < 1:
        raise BadJournalQuery("per_page", "размер страницы должен быть положительным")
    query = _query(flt, zone)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        total = int(
            session.scalar(
                select(func.count()).select_from(AuditEntry).where(*flt.conditions(zone))
            )
            or 0
        )
        rows = session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
        items = [_entry(row) for row in rows]
    return JournalPage(items, total, page, per_page)


def iter_journal(engine: Engine, flt: JournalFilter, zone: dt.tzinfo) -> Iterator[JournalEntry]:
    """Every entry of the filtered journal, newest first, fetched in chunks."""
    query = _query(flt, zone).execution_options(yield_per=_EXPORT_CHUNK)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        for row in session.scalars(query):
            yield _entry(row)


def distinct_values(engine: Engine, column: str, *, limit: int = 200) -> list[str]:
    """Values seen in the journal's ``actor`` or ``entity`` column (for pick lists), sorted."""
    target = {"actor": AuditEntry.actor, "entity": AuditEntry.entity}[column]
    with engine.connect() as conn:
        rows = conn.execute(select(target).distinct().order_by(target).limit(limit)).scalars()
        return [str(value) for value in rows]


# --- export --------------------------------------------------------------------------------------

#: Export column ids with their (Russian, English) headers.
EXPORT_COLUMNS: Final[tuple[tuple[str, str, str], ...]] = (
    ("at", "время", "time"),
    ("actor", "пользователь", "actor"),
    ("action", "действие", "action"),
    ("entity", "объект", "entity"),
    ("key", "ключ", "key"),
    ("source", "источник", "source"),
    ("before", "было", "before"),
    ("after", "стало", "after"),
)


def export_row(entry: JournalEntry, zone: dt.tzinfo, locale: str) -> list[str]:
    """One entry as export cells: local time, then text; before/after as JSON."""
    local = entry.at.astimezone(zone)
    at = local.strftime("%d.%m.%Y %H:%M:%S") if locale == "ru" else local.isoformat()

    def as_json(value: dict[str, Any] | None) -> str:
        return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=False)

    return [
        at,
        entry.actor,
        entry.action,
        entry.entity,
        entry.key,
        entry.source or "",
        as_json(entry.before),
        as_json(entry.after),
    ]


def export_header(locale: str) -> list[str]:
    return [ru if locale == "ru" else en for _id, ru, en in EXPORT_COLUMNS]


def export_csv(entries: Iterator[JournalEntry], zone: dt.tzinfo, locale: str) -> Iterator[bytes]:
    """The journal as CSV (UTF-8 with BOM for Excel), streamed line by line."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate(0)
        return data

    writer.writerow(export_header(locale))
    yield "\ufeff".encode() + flush()
    for count, entry in enumerate(entries, start=1):
        writer.writerow(export_row(entry, zone, locale))
        if count % 500 == 0:
            yield flush()
    yield flush()


def export_xlsx(entries: Iterator[JournalEntry], zone: dt.tzinfo, locale: str) -> bytes:
    """The journal as one XLSX sheet (write-only mode: rows are not kept in memory)."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("журнал аудита" if locale == "ru" else "audit journal")
    sheet.append(export_header(locale))
    for entry in entries:
        sheet.append(export_row(entry, zone, locale))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(fmt: str, today: dt.date) -> str:
    return f"audit-{today.isoformat()}.{fmt}"


def action_values() -> Sequence[str]:
    return [a.value for a in AuditAction]
